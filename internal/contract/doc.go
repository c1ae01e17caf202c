// Package contract is siampipe's data contract: the Arrow IPC schemas that the
// stages exchange, and the readers and writers that enforce them.
//
// It is the only package that knows column names and metadata keys. Every
// stream carries its kind in the schema metadata key "siampipe.kind":
//
//	images    index int64, label uint8, image fixed_size_list<uint8>[C*H*W]
//	pairs     index int64, label uint8, epoch int32, view1, view2 fixed_size_list<uint8>[C*H*W]
//	features  index int64, label uint8, feature fixed_size_list<float32>[D]
//	coords    index int64, label uint8, coord fixed_size_list<float32>[n]
//	model     name utf8, shape list<int32>, values list<float32>
//
// Images are C planes of H rows of W bytes (CHW, as torchvision's tensors),
// C = "siampipe.channels" (1 when absent, and left out when 1, so grey
// streams keep their bytes). "siampipe.classes", a JSON list, names the
// labels; it flows from images to pairs, features and coords. Unlabelled
// data has a null label in every row (a nullable label field): a null, not
// a sentinel value, so that any Arrow reader sees "no label" rather than a
// class, and no class number is taken from labelled data sets. A stream is
// either labelled or unlabelled throughout.
//
// A map stage run with --shard I/N (fetch, augment, embed) writes shard I
// of N of its stream: rows [I*n/N, (I+1)*n/N) of its n rows (of each
// epoch's, for pairs), with the same metadata plus the keys of
// shard_meta.go ("siampipe.shard" = "I/N", and the shard's first row, its
// rows and the whole's rows), and its count key (siampipe.rows,
// siampipe.rows_per_epoch) counting the shard's rows. The concat stage
// joins the N shards into the whole stream's bytes (Meta.Whole).
//
// Streams are Arrow IPC streams; readers also accept the IPC file format
// (detected by its ARROW1 magic), so files written by other Arrow tools work.
// Record batches are read zero-copy: the slices a Reader hands out alias the
// Arrow buffers and are valid until the next call to Next.
package contract
