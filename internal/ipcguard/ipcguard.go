// Package ipcguard reads Arrow IPC streams and files from hostile bytes
// through Arrow Go's IPC reader (github.com/apache/arrow/go/v15/arrow/ipc),
// checking every number that reader would trust before it acts on it.
//
// Arrow Go allocates by the lengths inside an IPC message, so a few
// corrupt bytes make it ask for hundreds of gigabytes, and a failed
// allocation of the Go runtime kills the process (no recover helps). It
// also takes a record batch's field nodes and buffers one after another
// as the schema's types need them, without looking at how many the batch
// lists: past the end of the list it reads whatever bytes follow as a
// buffer's offset and length (96 GiB, once, for internal/table's
// FuzzArrow). And it hands out arrays whose lengths, offsets and buffers
// disagree, which panic later in the caller's hands. The fuzzers of
// internal/contract and internal/table found the first two, and tests of
// internal/contract with siampipe streams the third; both packages read
// through this one.
//
// A Reader (NewStreamReader, NewFileReader) therefore checks, before
// Arrow Go reads them:
//
//   - the flatbuffers of the schema message or the file's footer: every
//     vector of the schema, its fields (nested at most 64 deep) and their
//     metadata fits in its buffer;
//   - every message's framing: metadata at most 64 MiB, a body length
//     that is not negative, and a body that is read as it arrives (at
//     most 64 MiB allocated ahead), so a length longer than the input
//     fails as truncated;
//   - every record and dictionary batch: at most 1<<30 rows, its vectors
//     inside its metadata, each buffer inside its body, each compressed
//     buffer claiming at most 1 GiB uncompressed and no more than its
//     bytes can make in its codec, and as many field nodes and buffers as
//     the schema's columns take;
//   - in an IPC file, every block the footer lists, framed as
//     ipc.FileReader frames it, with the same checks as a stream's
//     messages;
//
// reads each batch with an Allocator limited to what its body can hold,
// and after Arrow Go has read a batch, checks the record it made
// (CheckRecord): every column as long as the batch, and every array's
// buffers, offsets and children as long as its length needs.
//
// Errors of these checks wrap ErrCorruptSchema, ErrCorruptBatch,
// ErrNoFooter or ErrDictionary; the packages that read through a Reader
// wrap them in their own errors. Errors of the underlying reader and of
// Arrow Go pass through.
package ipcguard

import "errors"

var (
	// ErrCorruptSchema is a schema message, a file footer, or a message's
	// framing that the checks refuse.
	ErrCorruptSchema = errors.New("corrupt schema message")
	// ErrCorruptBatch is a record or dictionary batch (its message, its
	// block in a file, or the record Arrow Go made of it) that the checks
	// refuse.
	ErrCorruptBatch = errors.New("corrupt record batch")
	// ErrNoFooter is an IPC file that does not end with the ARROW1 magic.
	ErrNoFooter = errors.New("no ARROW1 magic at the end (truncated?)")
	// ErrDictionary is a dictionary batch when Options.Dictionaries is
	// false.
	ErrDictionary = errors.New("dictionary batch (dictionary-encoded columns are not accepted here)")
)

// Options say what a Reader accepts beyond plain columns.
type Options struct {
	// Dictionaries lets dictionary batches through (dictionary-encoded
	// columns); without it, a dictionary batch is ErrDictionary.
	Dictionaries bool
}

const (
	// maxMetadata bounds one message's flatbuffer metadata.
	maxMetadata = 64 << 20
	// bodyPrealloc is the most of a message body allocated before its
	// bytes arrive; larger bodies grow as they are read, so a corrupt
	// length fails with "truncated" instead of a huge allocation.
	bodyPrealloc = 64 << 20
	// maxBuffer bounds one decompressed buffer and a batch's row count:
	// far above any batch siampipe reads, far below what a corrupt length
	// can ask for.
	maxBuffer = 1 << 30
	// maxFileRows bounds the rows of all the record batches of a file.
	maxFileRows = maxBuffer * 64
	// maxDepth bounds the nesting of fields.
	maxDepth = 64
)
