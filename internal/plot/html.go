package plot

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
)

// scatterJS is the page's renderer: drag rotates, the wheel zooms, hovering
// a point shows its index and class, clicking a legend entry hides or shows
// its class. With "#selftest" in the URL it also drives those interactions
// itself and writes the outcome to <body data-selftest>, for the browser test.
//
//go:embed scatter.js
var scatterJS string

// HTMLOptions set the page. The zero value means the defaults.
type HTMLOptions struct {
	Title string // page title; "" means "siampipe: 3-D embedding"
}

// HTML writes a self-contained page with an interactive 3-D scatter of p
// (2-D points lie in the plane z = 0): the data and the renderer are inline,
// so the page works from a file with no network access.
func HTML(w io.Writer, p Points, opt HTMLOptions) error {
	if err := p.check(); err != nil {
		return err
	}
	if opt.Title == "" {
		opt.Title = "siampipe: 3-D embedding"
	}
	classes := classesOf(p.Label)
	names := make([]string, classes)
	colors := make([]string, classes)
	for c := range names {
		names[c] = p.className(c)
		k := ClassColor(c)
		colors[c] = fmt.Sprintf("#%02x%02x%02x", k.R, k.G, k.B)
	}
	// encoding/json escapes <, > and &, so nothing in the data can end the
	// script element.
	meta, err := json.Marshal(map[string]any{"title": opt.Title, "classes": names, "colors": colors, "n": p.N})
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s</title>
<style>
html,body{margin:0;height:100%%;overflow:hidden;background:#fff;font:13px/1.35 system-ui,sans-serif;color:#222}
#view{display:block;width:100vw;height:100vh;cursor:grab;touch-action:none}
#view.drag{cursor:grabbing}
#legend{position:absolute;top:10px;right:10px;background:rgba(255,255,255,.92);border:1px solid #ccc;border-radius:4px;padding:6px 4px;user-select:none}
#legend div{cursor:pointer;padding:1px 6px;white-space:nowrap}
#legend div:hover{background:#eee}
#legend div.off{opacity:.35;text-decoration:line-through}
#legend i{display:inline-block;width:10px;height:10px;border-radius:50%%;margin-right:6px;vertical-align:-1px}
#tip{position:absolute;pointer-events:none;background:#222;color:#fff;padding:2px 7px;border-radius:3px;display:none;white-space:nowrap}
#info{position:absolute;left:10px;top:8px;color:#555;pointer-events:none}
#info b{color:#222}
</style></head>
<body>
<canvas id="view"></canvas>
<div id="legend"></div><div id="tip"></div>
<div id="info"><b>%s</b><br>%d points &middot; drag to rotate, wheel to zoom, click a class to hide it</div>
<script id="meta" type="application/json">%s</script>
<script id="points" type="application/json">`, html.EscapeString(opt.Title), html.EscapeString(opt.Title), p.N, meta)
	// Coordinates are centred and scaled to [-1, 1] here, so the page holds
	// short numbers: {"index":[...],"label":[...],"xyz":[x,y,z,...]}.
	var lo, hi [3]float64
	for d := 0; d < 3; d++ {
		lo[d], hi[d] = 1e300, -1e300
	}
	at := func(i, d int) float64 {
		if d >= p.Dim {
			return 0
		}
		return float64(p.Coords[i*p.Dim+d])
	}
	for i := 0; i < p.N; i++ {
		for d := 0; d < 3; d++ {
			lo[d], hi[d] = min(lo[d], at(i, d)), max(hi[d], at(i, d))
		}
	}
	half := 0.0
	for d := 0; d < 3; d++ {
		half = max(half, (hi[d]-lo[d])/2)
	}
	if half == 0 {
		half = 1
	}
	var b []byte
	bw.WriteString(`{"index":[`)
	for i, v := range p.Index {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(strconv.AppendInt(b[:0], v, 10))
	}
	bw.WriteString(`],"label":[`)
	for i, v := range p.Label {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.Write(strconv.AppendInt(b[:0], int64(v), 10))
	}
	bw.WriteString(`],"xyz":[`)
	for i := 0; i < p.N; i++ {
		for d := 0; d < 3; d++ {
			if i > 0 || d > 0 {
				bw.WriteByte(',')
			}
			v := (at(i, d) - (lo[d]+hi[d])/2) / half
			bw.Write(strconv.AppendFloat(b[:0], v, 'f', 4, 64))
		}
	}
	bw.WriteString("]}</script>\n<script>\n")
	bw.WriteString(strings.ReplaceAll(scatterJS, "</script", `<\/script`))
	bw.WriteString("</script>\n</body></html>\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("plot: write html: %w", err)
	}
	return nil
}
