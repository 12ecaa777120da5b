package interpose

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"

	"golang.org/x/sys/unix"
)

// Read reads a T from application memory at addr. T is a fixed-size type
// (an integer, an array, or a struct of them, such as the structures of
// gvisor.dev/gvisor/pkg/abi/linux), in the application's byte order.
func Read[T any](m Memory, addr uintptr) (T, error) {
	var v T
	n := binary.Size(&v)
	if n < 0 || reflect.TypeFor[T]().Kind() == reflect.Slice {
		return v, fmt.Errorf("interpose.Read: %T has no fixed size", v)
	}
	buf := make([]byte, n)
	if err := m.CopyIn(addr, buf); err != nil {
		return v, err
	}
	_, err := binary.Decode(buf, binary.LittleEndian, &v)
	return v, err
}

// Write writes v to application memory at addr, as Read reads it.
func Write[T any](m Memory, addr uintptr, v T) error {
	buf, err := binary.Append(nil, binary.LittleEndian, &v)
	if err != nil {
		return fmt.Errorf("interpose.Write: %w", err)
	}
	return m.CopyOut(addr, buf)
}

// ReadString reads a NUL-terminated string at addr, of at most max bytes
// before the NUL; a longer one is ENAMETOOLONG.
func ReadString(m Memory, addr uintptr, max int) (string, error) {
	var out []byte
	const chunk = 256
	for len(out) <= max {
		// Never read across a page boundary in one go: the next page
		// may be unmapped while the string ends before it.
		n := chunk - int((addr+uintptr(len(out)))%chunk)
		buf := make([]byte, n)
		if err := m.CopyIn(addr+uintptr(len(out)), buf); err != nil {
			return "", err
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			out = append(out, buf[:i]...)
			if len(out) > max {
				break
			}
			return string(out), nil
		}
		out = append(out, buf...)
	}
	return "", unix.ENAMETOOLONG
}
