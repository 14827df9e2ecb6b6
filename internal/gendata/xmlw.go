package gendata

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// xw appends indented XML the way GeoServer's XStream writer does: two
// spaces per level, no XML declaration, no newline after the root's end tag,
// and &quot; &apos; &#xd; escaped in text as well as in attributes.
type xw struct {
	b     []byte
	depth int
}

func (w *xw) nl() {
	if len(w.b) == 0 {
		return
	}
	w.b = append(w.b, '\n')
	for range w.depth {
		w.b = append(w.b, ' ', ' ')
	}
}

func (w *xw) start(name string, attrs []string) {
	w.nl()
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	for i := 0; i+1 < len(attrs); i += 2 {
		w.b = append(w.b, ' ')
		w.b = append(w.b, attrs[i]...)
		w.b = append(w.b, '=', '"')
		w.b = appendEscaped(w.b, attrs[i+1])
		w.b = append(w.b, '"')
	}
}

// open starts an element that will have child elements; attrs are
// name, value pairs.
func (w *xw) open(name string, attrs ...string) {
	w.start(name, attrs)
	w.b = append(w.b, '>')
	w.depth++
}

// close ends the element open started.
func (w *xw) close(name string) {
	w.depth--
	w.nl()
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// leaf writes <name attrs>text</name>.
func (w *xw) leaf(name, text string, attrs ...string) {
	w.start(name, attrs)
	w.b = append(w.b, '>')
	w.b = appendEscaped(w.b, text)
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

// empty writes <name attrs/>.
func (w *xw) empty(name string, attrs ...string) {
	w.start(name, attrs)
	w.b = append(w.b, '/', '>')
}

// ref writes <name attrs><id>id</id></name>, GeoServer's reference by id.
func (w *xw) ref(name, id string, attrs ...string) {
	w.open(name, attrs...)
	w.leaf("id", id)
	w.close(name)
}

func (w *xw) strings(name string, list []string, attrs ...string) {
	w.open(name, attrs...)
	for _, s := range list {
		w.leaf("string", s)
	}
	w.close(name)
}

func (w *xw) entry(key, value string) { w.leaf("entry", value, "key", key) }

func (w *xw) bool(name string, v bool) { w.leaf(name, strconv.FormatBool(v)) }

func (w *xw) int(name string, v int) { w.leaf(name, strconv.Itoa(v)) }

func (w *xw) date(name string, t time.Time) {
	if !t.IsZero() {
		w.leaf(name, gsDate(t))
	}
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '\'':
			b = append(b, "&apos;"...)
		case '\r':
			b = append(b, "&#xd;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// gsDate formats t as GeoServer stores dateCreated and dateModified:
// "2022-08-21 15:10:28.234 UTC", the milliseconds unpadded as Java's
// SimpleDateFormat pattern "S" prints them (7 ms is ".7").
func gsDate(t time.Time) string {
	t = t.UTC()
	return t.Format("2006-01-02 15:04:05") + "." + strconv.Itoa(t.Nanosecond()/1e6) + " UTC"
}

// jd formats f as Java's Double.toString does: plain notation with at
// least one decimal for 1e-3 <= |f| < 1e7, else "1.5E7" / "6.0E-4".
func jd(f float64) string {
	a := math.Abs(f)
	if a == 0 || (a >= 1e-3 && a < 1e7) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // "7E+07", "6.5E-04"
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}
