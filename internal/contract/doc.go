// Package contract is siampipe's data contract: the Arrow IPC schemas that the
// stages exchange, and the readers and writers that enforce them.
//
// It is the only package that knows column names and metadata keys. Every
// stream carries its kind in the schema metadata key "siampipe.kind":
//
//	images    index int64, label uint8, image fixed_size_list<uint8>[H*W]
//	pairs     index int64, label uint8, epoch int32, view1, view2 fixed_size_list<uint8>[H*W]
//	features  index int64, label uint8, feature fixed_size_list<float32>[D]
//	coords    index int64, label uint8, coord fixed_size_list<float32>[n]
//	model     name utf8, shape list<int32>, values list<float32>
//
// Streams are Arrow IPC streams; readers also accept the IPC file format
// (detected by its ARROW1 magic), so files written by other Arrow tools work.
// Record batches are read zero-copy: the slices a Reader hands out alias the
// Arrow buffers and are valid until the next call to Next.
package contract
