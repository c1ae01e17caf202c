package simsiam

import (
	"testing"
)

// The stop-gradient must make the gradients exactly those of a graph where
// the targets are constants; without it they must differ.
func TestStopGradientEqualsConstantTargets(t *testing.T) {
	for _, c := range loadGolden(t) {
		if c.Method != "" {
			continue // SimCLR has no stop-gradient
		}
		t.Run(c.name(), func(t *testing.T) {
			run := func(mode targetMode, consts [][]float32) (*Graph, [][]float32) {
				m := goldenModel(t, c)
				gr, err := m.newGraph(c.N, 0, mode, consts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(gr.Close)
				if _, err := gr.Run(c.View1, c.View2); err != nil {
					t.Fatal(err)
				}
				return gr, gr.Grads
			}
			sg, gSG := run(targetStopGrad, nil)
			z := [][]float32{append([]float32(nil), sg.zTap[0].Last()...), append([]float32(nil), sg.zTap[1].Last()...)}
			_, gConst := run(targetConst, z)
			_, gPlain := run(targetPlain, nil)
			differs := false
			for i, p := range sg.Trainable() {
				for j := range gSG[i] {
					if gSG[i][j] != gConst[i][j] {
						t.Fatalf("%s[%d]: stop-gradient %v, constant target %v", p.Name, j, gSG[i][j], gConst[i][j])
					}
					if gSG[i][j] != gPlain[i][j] {
						differs = true
					}
				}
			}
			if !differs {
				t.Fatal("gradients without the stop-gradient are identical: the test cannot tell")
			}
		})
	}
}
