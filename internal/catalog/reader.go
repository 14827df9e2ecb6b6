package catalog

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// reader walks the tokens of one document with xml.Decoder.RawToken and
// checks what RawToken leaves out: that every end element matches its
// start and that the document is not cut short.
//
// It cannot use Decoder.Skip: Skip reads with Token, which pops an element
// stack that RawToken never pushed, and fails with "unexpected end
// element" on the first subtree it skips. So skip is done here, on raw
// tokens, which also spares Token's namespace translation.
type reader struct {
	d     *xml.Decoder
	kind  Kind
	stack []xml.Name
	buf   []byte
}

func newReader(kind Kind, data []byte) *reader {
	data = bytes.TrimPrefix(data, utf8BOM)
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	return &reader{d: d, kind: kind, stack: make([]xml.Name, 0, 8)}
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// next returns the next token, io.EOF at a clean end of the document, or a
// *ParseError.
func (r *reader) next() (xml.Token, error) {
	tok, err := r.d.RawToken()
	if err != nil {
		if err == io.EOF {
			if len(r.stack) > 0 {
				return nil, r.errorf("unexpected end of file inside <%s>", r.stack[len(r.stack)-1].Local)
			}
			return nil, io.EOF
		}
		return nil, r.wrap(err)
	}
	switch t := tok.(type) {
	case xml.StartElement:
		r.stack = append(r.stack, t.Name)
	case xml.EndElement:
		if len(r.stack) == 0 {
			return nil, r.errorf("unexpected end element </%s>", qname(t.Name))
		}
		top := r.stack[len(r.stack)-1]
		if top != t.Name {
			return nil, r.errorf("element <%s> closed by </%s>", qname(top), qname(t.Name))
		}
		r.stack = r.stack[:len(r.stack)-1]
	}
	return tok, nil
}

// skip consumes the rest of the element whose start was just read.
func (r *reader) skip() error {
	depth := 0
	for {
		tok, err := r.next()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

// text consumes the rest of the element whose start was just read and
// returns its own character data, trimmed of surrounding white space.
// Nested elements are skipped.
func (r *reader) text() (string, error) {
	r.buf = r.buf[:0]
	for {
		tok, err := r.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			r.buf = append(r.buf, t...)
		case xml.StartElement:
			if err := r.skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return string(bytes.TrimSpace(r.buf)), nil
		}
	}
}

// ref consumes a reference element whose start was just read and returns
// what it refers to. GeoServer writes <x><id>ID</id></x>; its reader also
// takes <x><name>N</name></x> (optionally with a <workspace>),
// <x><prefix>P</prefix></x> and <x>ID-or-name</x>, which it resolves by id
// first and then by name. The id wins when there are several.
func (r *reader) ref() (string, error) {
	var id, other string
	hasChild := false
	r.buf = r.buf[:0]
	for {
		tok, err := r.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !hasChild {
				r.buf = append(r.buf, t...)
			}
		case xml.StartElement:
			hasChild = true
			var err error
			switch t.Name.Local {
			case "id":
				id, err = r.text()
			case "name", "prefix":
				other, err = r.text()
			default:
				err = r.skip()
			}
			if err != nil {
				return "", err
			}
		case xml.EndElement:
			switch {
			case id != "":
				return id, nil
			case hasChild:
				return other, nil
			}
			return string(bytes.TrimSpace(r.buf)), nil
		}
	}
}

// refs consumes a collection of references (<styles>, <publishables>)
// whose start was just read and appends one entry per child element to
// list. An empty entry such as <style/> is appended as "" when positional
// is set, and dropped otherwise.
func (r *reader) refs(list []string, positional bool) ([]string, error) {
	for {
		tok, err := r.next()
		if err != nil {
			return list, err
		}
		switch tok.(type) {
		case xml.StartElement:
			ref, err := r.ref()
			if err != nil {
				return list, err
			}
			if ref != "" || positional {
				list = append(list, ref)
			}
		case xml.EndElement:
			return list, nil
		}
	}
}

func (r *reader) line() int {
	line, _ := r.d.InputPos()
	return line
}

func (r *reader) errorf(format string, args ...any) *ParseError {
	return &ParseError{Kind: r.kind, Line: r.line(), Msg: fmt.Sprintf(format, args...)}
}

// wrap turns a decoder error into a *ParseError, keeping its line.
func (r *reader) wrap(err error) *ParseError {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &ParseError{Kind: r.kind, Line: se.Line, Msg: se.Msg, Err: err}
	}
	return &ParseError{Kind: r.kind, Line: r.line(), Msg: err.Error(), Err: err}
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// charsetReader lets the decoder read the single-byte encodings that a
// hand-edited catalog file may declare. GeoServer itself writes UTF-8
// without a declaration.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		return newLatin1Reader(input), nil
	case "us-ascii", "ascii":
		return newLatin1Reader(input), nil // a superset; non-ASCII bytes are kept, not refused
	}
	return nil, fmt.Errorf("unsupported encoding %q (use UTF-8)", charset)
}

// latin1Reader decodes ISO-8859-1 into UTF-8.
type latin1Reader struct {
	r       io.ByteReader
	pending int // second byte of a two-byte sequence, or -1
}

func newLatin1Reader(r io.Reader) *latin1Reader {
	br, ok := r.(io.ByteReader)
	if !ok {
		br = bufio.NewReader(r)
	}
	return &latin1Reader{r: br, pending: -1}
}

func (l *latin1Reader) ReadByte() (byte, error) {
	if l.pending >= 0 {
		b := byte(l.pending)
		l.pending = -1
		return b, nil
	}
	b, err := l.r.ReadByte()
	if err != nil || b < 0x80 {
		return b, err
	}
	l.pending = int(0x80 | b&0x3F)
	return 0xC0 | b>>6, nil
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		b, err := l.ReadByte()
		if err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		p[n] = b
		n++
	}
	return n, nil
}
