// Command concat joins the shards that fetch, augment or embed wrote with
// --shard I/N (or --shards N in a Kubernetes Indexed Job) into the whole
// stream: the bytes the stage writes unsharded. It checks that the shards
// are one stream's, every one of them once.
package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/siampipe/siampipe/internal/cli"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// stage runs concat with args on the given streams and returns its exit status.
func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("concat", "join the shards of a fetch, augment or embed stream (written with --shard I/N) into the whole stream",
		"embed --model model.arrows --shard 0/2 -i test.arrows -o f0.arrows; embed ... --shard 1/2 -o f1.arrows\n  concat -o features.arrows f0.arrows f1.arrows")
	s.Common = cli.OutputFlag | cli.CompressFlag // the shards are its arguments
	s.Args = "SHARD..."
	return s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		ins, closeAll, err := open(s)
		defer closeAll()
		if err != nil {
			return err
		}
		out, err := s.Output()
		if err != nil {
			return err
		}
		defer out.Abort()
		p := s.Progress("concat", 0, "rows")
		sum, err := concat(ctx, ins, out, s.WriterOptions(), p.Add)
		if err != nil {
			return err
		}
		p.Done()
		if err := out.Commit(); err != nil {
			return err
		}
		s.Logf("joined %d shards into %s %s stream of %d rows", sum.shards, article(sum.kind), sum.kind, sum.rows)
		return nil
	})
}

// open opens the shard files (or objects) the arguments name; "-" is
// stdin, once.
func open(s *cli.Stage) ([]input, func(), error) {
	var files []io.Closer
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	names := s.Flags.Args()
	if len(names) == 0 {
		return nil, closeAll, cli.Usagef("no shards to join: name the shard files (concat -o whole.arrows shard-0.arrows shard-1.arrows ...; - is stdin)")
	}
	stdin := false
	for _, name := range names {
		switch {
		case name == "-" && stdin:
			return nil, closeAll, cli.Usagef("- is given twice: stdin can be read once")
		case name == "-":
			stdin = true
		case strings.HasPrefix(name, "-"):
			return nil, closeAll, cli.Usagef("%s after the shard files: flags go first (concat -o FILE SHARD...)", name)
		}
	}
	ins := make([]input, 0, len(names))
	for _, name := range names {
		if name == "-" {
			r, err := s.Input() // refuses a terminal
			if err != nil {
				return nil, closeAll, err
			}
			ins = append(ins, input{name: "stdin", r: r})
			continue
		}
		f, err := cli.Open(name) // a file, or an s3:// object (its errors name the URL)
		if err != nil {
			return nil, closeAll, err
		}
		files = append(files, f)
		ins = append(ins, input{name: name, r: f})
	}
	return ins, closeAll, nil
}
