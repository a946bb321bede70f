package rubygems

import (
	"bytes"
	"fmt"
)

// A small encoder of Ruby's Marshal format 4.8, enough for the legacy
// index (specs.4.8.gz and friends: arrays of [name, Gem::Version,
// platform]) and the quick gemspecs (quick/Marshal.4.8/*.gemspec.rz: a
// Gem::Specification's _dump). It writes what Ruby's Marshal.dump writes
// for the same values, symbol back-references included; it never writes
// object back-references (@), which Ruby only emits for an object dumped
// twice, and our values never share objects.
//
// Values are Go values of these types:
//
//	nil, bool, int         nil, true/false, Integer (Fixnum range)
//	string                 a UTF-8 String (with its E encoding ivar)
//	rbBinary               an ASCII-8BIT String (no ivar)
//	rbSymbol               a Symbol
//	[]any                  an Array
//	rbHash                 a Hash, in order
//	rbObject               a plain object with instance variables (o)
//	rbUserMarshal          an object with marshal_dump (U), such as Gem::Version
//	rbUserDump             an object with _dump (u), such as Gem::Specification

// rbBinary is a Ruby String with ASCII-8BIT encoding.
type rbBinary []byte

// rbSymbol is a Ruby Symbol.
type rbSymbol string

// rbHash is a Ruby Hash; its pairs keep their order.
type rbHash []rbPair

// rbPair is one key and value of an rbHash.
type rbPair struct{ Key, Value any }

// rbObject is an object of Class with the instance variables IVars (names
// with their "@").
type rbObject struct {
	Class string
	IVars []rbPair // Key is the ivar name, a string
}

// rbUserMarshal is an object of Class whose marshal_dump returned Data.
type rbUserMarshal struct {
	Class string
	Data  any
}

// rbUserDump is an object of Class whose _dump returned Data.
type rbUserDump struct {
	Class string
	Data  []byte
}

// marshalRuby encodes v as Marshal.dump would.
func marshalRuby(v any) ([]byte, error) {
	e := &rbEncoder{syms: map[string]int{}}
	e.buf.WriteString("\x04\x08")
	if err := e.value(v); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

type rbEncoder struct {
	buf  bytes.Buffer
	syms map[string]int
}

func (e *rbEncoder) value(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf.WriteByte('0')
	case bool:
		if x {
			e.buf.WriteByte('T')
		} else {
			e.buf.WriteByte('F')
		}
	case int:
		if x < -(1<<30) || x >= 1<<30 {
			return fmt.Errorf("marshal: integer %d is outside the Fixnum range", x)
		}
		e.buf.WriteByte('i')
		e.long(x)
	case string:
		e.buf.WriteString(`I"`)
		e.bytes([]byte(x))
		e.long(1)
		e.symbol("E")
		e.buf.WriteByte('T')
	case rbBinary:
		e.buf.WriteByte('"')
		e.bytes(x)
	case rbSymbol:
		e.symbol(string(x))
	case []any:
		e.buf.WriteByte('[')
		e.long(len(x))
		for _, el := range x {
			if err := e.value(el); err != nil {
				return err
			}
		}
	case rbHash:
		e.buf.WriteByte('{')
		e.long(len(x))
		for _, p := range x {
			if err := e.value(p.Key); err != nil {
				return err
			}
			if err := e.value(p.Value); err != nil {
				return err
			}
		}
	case rbObject:
		e.buf.WriteByte('o')
		e.symbol(x.Class)
		e.long(len(x.IVars))
		for _, p := range x.IVars {
			name, ok := p.Key.(string)
			if !ok {
				return fmt.Errorf("marshal: ivar name %v is not a string", p.Key)
			}
			e.symbol(name)
			if err := e.value(p.Value); err != nil {
				return err
			}
		}
	case rbUserMarshal:
		e.buf.WriteByte('U')
		e.symbol(x.Class)
		return e.value(x.Data)
	case rbUserDump:
		e.buf.WriteByte('u')
		e.symbol(x.Class)
		e.bytes(x.Data)
	default:
		return fmt.Errorf("marshal: cannot encode %T", v)
	}
	return nil
}

// symbol writes a Symbol, or a back-reference to one written before.
func (e *rbEncoder) symbol(s string) {
	if i, ok := e.syms[s]; ok {
		e.buf.WriteByte(';')
		e.long(i)
		return
	}
	e.syms[s] = len(e.syms)
	e.buf.WriteByte(':')
	e.bytes([]byte(s))
}

func (e *rbEncoder) bytes(b []byte) {
	e.long(len(b))
	e.buf.Write(b)
}

// long writes an integer in Marshal's variable-length form.
func (e *rbEncoder) long(n int) {
	switch {
	case n == 0:
		e.buf.WriteByte(0)
	case n > 0 && n < 123:
		e.buf.WriteByte(byte(n + 5))
	case n < 0 && n > -124:
		e.buf.WriteByte(byte(n - 5))
	default:
		// As Ruby's w_long: little-endian bytes until what is left is 0
		// (positive) or -1 (negative); the count, negated for negative n,
		// comes first.
		var b [8]byte
		i := 0
		for {
			b[i] = byte(n)
			i++
			n >>= 8
			if n == 0 {
				e.buf.WriteByte(byte(i))
				break
			}
			if n == -1 {
				e.buf.WriteByte(byte(-i))
				break
			}
		}
		e.buf.Write(b[:i])
	}
}
