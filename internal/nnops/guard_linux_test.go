//go:build linux

package nnops

import (
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns n zeroed float32s that end right before an inaccessible
// page (atEnd) or start right after one, so that a kernel reading or
// writing a single element past them (or before them) faults and fails
// the test run. The memory lives until t ends.
func guarded(t testing.TB, n int, atEnd bool) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	data := (4*n + page - 1) / page * page
	mem, err := syscall.Mmap(-1, 0, data+page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Munmap(mem); err != nil {
			t.Errorf("munmap: %v", err)
		}
	})
	guard, off := mem[data:], data-4*n
	if !atEnd {
		guard, off = mem[:page], page
	}
	if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	if n == 0 {
		return []float32{}
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[off])), n)
}
