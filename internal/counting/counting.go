// Package counting counts the bytes that pass through a stream.
package counting

import "io"

// Reader counts the bytes read through it from R.
type Reader struct {
	R io.Reader
	// N is the number of bytes read so far.
	N int64
}

// Read reads from R and adds what it got to N.
func (c *Reader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N += int64(n)
	return n, err
}
