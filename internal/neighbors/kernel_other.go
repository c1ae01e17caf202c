//go:build !amd64

package neighbors

const useAVX2 = false

func dotAVX2(x, y []float32) float32    { return dotGeneric(x, y) }
func sqDistAVX2(x, y []float32) float32 { return sqDistGeneric(x, y) }
