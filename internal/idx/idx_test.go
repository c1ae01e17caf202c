package idx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// encode builds an IDX file of unsigned bytes with the given dimensions.
func encode(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, TypeUint8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func seq(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i * 7)
	}
	return p
}

func TestDecodeValidFiles(t *testing.T) {
	images := encode([]int{3, 2, 4}, seq(24))
	labels := encode([]int{5}, []byte{0, 1, 2, 9, 3})
	tests := []struct {
		name string
		in   []byte
		dims []int
		data []byte
	}{
		{"plain images", images, []int{3, 2, 4}, seq(24)},
		{"gzip images", gz(images), []int{3, 2, 4}, seq(24)},
		{"plain labels", labels, []int{5}, []byte{0, 1, 2, 9, 3}},
		{"gzip labels", gz(labels), []int{5}, []byte{0, 1, 2, 9, 3}},
		{"zero images", encode([]int{0, 28, 28}, nil), []int{0, 28, 28}, []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decode(bytes.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !equalInts(a.Dims, tc.dims) || !bytes.Equal(a.Data, tc.data) {
				t.Fatalf("got dims %v data %v, want %v %v", a.Dims, a.Data, tc.dims, tc.data)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	good := encode([]int{4, 3, 3}, seq(36))
	gzGood := gz(good)
	corrupt := append([]byte(nil), gzGood...)
	corrupt[len(corrupt)-6] ^= 0xff // inside the CRC32 trailer
	floatType := append([]byte(nil), good...)
	floatType[2] = 0x0d
	badMagic := append([]byte(nil), good...)
	badMagic[0] = 1
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:6], ErrTruncated},
		{"bad magic", badMagic, ErrMagic},
		{"zero dimensions", []byte{0, 0, 8, 0}, ErrMagic},
		{"float elements", floatType, ErrType},
		{"truncated data", good[:len(good)-5], ErrTruncated},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2), ErrTrailing},
		{"truncated gzip", gzGood[:len(gzGood)/2], ErrTruncated},
		{"gzip without trailer", gzGood[:len(gzGood)-8], ErrTruncated},
		{"gzip checksum", corrupt, ErrChecksum},
		{"gzip then garbage", append(append([]byte(nil), gzGood...), 'x'), ErrTrailing},
		{"huge dimensions", encode([]int{1 << 20, 1 << 20, 1 << 20}, nil), ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestHeaderMagic(t *testing.T) {
	h, err := DecodeHeader(bytes.NewReader(encode([]int{60000, 28, 28}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Magic() != 0x00000803 || h.Elements() != 60000*28*28 {
		t.Fatalf("magic %#08x elements %d", h.Magic(), h.Elements())
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode([]int{2, 2, 2}, seq(8)))
	f.Add(gz(encode([]int{3}, []byte{1, 2, 3})))
	f.Add([]byte{0, 0, 8, 1, 0, 0, 0, 2, 5})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := Decode(bytes.NewReader(in))
		if err != nil {
			return
		}
		n := 1
		for _, d := range a.Dims {
			n *= d
		}
		if n != len(a.Data) {
			t.Fatalf("dims %v but %d bytes", a.Dims, len(a.Data))
		}
	})
}
