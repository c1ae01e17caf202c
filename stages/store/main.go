// Command store is the few object-store operations pipeline.sh needs
// around the stages when its cache is an object store (--store
// s3://bucket/prefix): whether an entry exists, what a prefix holds,
// copying an entry out, and removing transient shard parts. The paths are
// s3:// URLs or local files, as every stage's are.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/siampipe/siampipe/internal/cli"
	"github.com/siampipe/siampipe/internal/objstore"
)

func main() { os.Exit(stage(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// exitMissing is the status of stat for a path that does not exist, so
// that a caller can tell "no entry" from a failure (1).
const exitMissing = 3

func stage(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s := cli.New("store", "object-store operations for pipeline.sh: stat, ls, cat, cp, rm on s3:// URLs (or local paths)",
		"store stat s3://runs/cache/model-KEY.arrows && echo cached\n  store cp s3://runs/cache/report-KEY.json out/report.json")
	s.Common = 0
	s.Args = "stat|ls|cat|cp|rm PATH..."
	code := 0
	rc := s.Run(args, stdin, stdout, stderr, func(ctx context.Context) error {
		rest := s.Flags.Args()
		if len(rest) == 0 {
			return cli.Usagef("give an operation: stat, ls, cat, cp or rm")
		}
		op, paths := rest[0], rest[1:]
		want := map[string]int{"stat": 1, "ls": 1, "cat": 1, "cp": 2, "rm": -1}[op]
		switch {
		case want == 0:
			return cli.Usagef("unknown operation %q: use stat, ls, cat, cp or rm", op)
		case want > 0 && len(paths) != want, want < 0 && len(paths) == 0:
			return cli.Usagef("%s takes %s", op, map[string]string{"stat": "one path", "ls": "one prefix", "cat": "one path", "cp": "a source and a destination", "rm": "one path or more"}[op])
		}
		switch op {
		case "stat":
			r, err := cli.Open(paths[0])
			if cli.NotExist(err) {
				code = exitMissing
				return nil
			}
			if err != nil {
				return cli.FileError("stat", paths[0], err)
			}
			r.Close()
			return nil
		case "ls":
			names, err := cli.ListDir(paths[0])
			if err != nil {
				return cli.FileError("ls", paths[0], err)
			}
			for _, n := range names {
				fmt.Fprintln(s.Stdout(), n)
			}
			return nil
		case "cat":
			r, err := cli.Open(paths[0])
			if err != nil {
				return cli.FileError("cat", paths[0], err)
			}
			defer r.Close()
			_, err = io.Copy(s.Stdout(), r)
			return err
		case "cp":
			r, err := cli.Open(paths[0])
			if err != nil {
				return cli.FileError("cp", paths[0], err)
			}
			defer r.Close()
			o, err := cli.CreateAtomic(paths[1])
			if err != nil {
				return err
			}
			defer o.Abort()
			if _, err := io.Copy(o, r); err != nil {
				return fmt.Errorf("cp %s %s: %w", paths[0], paths[1], err)
			}
			return o.Commit()
		}
		for _, p := range paths {
			if err := remove(ctx, p); err != nil {
				return cli.FileError("rm", p, err)
			}
		}
		return nil
	})
	if rc == 0 {
		return code
	}
	return rc
}

// remove deletes a local file or an object; a missing one is no error.
func remove(ctx context.Context, path string) error {
	if !objstore.IsURL(path) {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	c, err := objstore.Default()
	if err != nil {
		return err
	}
	return c.Remove(ctx, path)
}
