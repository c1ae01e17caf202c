package folder_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/siampipe/siampipe/internal/folder"
	"github.com/siampipe/siampipe/internal/raster"
)

// Reading an ImageFolder tree: one folder per class, the images in any
// format decode knows; here two tiny PNGs and a stray text file.
func ExampleLoad() {
	root, _ := os.MkdirTemp("", "folder-example")
	defer os.RemoveAll(root)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewGray(image.Rect(0, 0, 4, 3)))
	for _, p := range []string{"cat/1.png", "dog/2.png"} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), buf.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(root, "dog", "notes.txt"), []byte("good dogs"), 0o644)

	l, err := folder.Scan(root)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("classes:", l.Classes)
	st, err := folder.Load(context.Background(), l, folder.Options{SkipBad: true},
		func(i int, f folder.File, im raster.Image) error {
			fmt.Println(i, f.Path, f.Label, im.Shape())
			return nil
		})
	fmt.Println("decoded:", st.Decoded, "skipped:", len(st.Skipped), "error:", err)
	for _, s := range st.Skipped {
		rel, _ := filepath.Rel(root, s.Path)
		fmt.Println("skipped", rel+":", s.Err)
	}
	// Output:
	// classes: [cat dog]
	// 0 cat/1.png 0 1x3x4
	// 1 dog/2.png 1 1x3x4
	// decoded: 2 skipped: 1 error: <nil>
	// skipped dog/notes.txt: not an image (unknown format)
}
