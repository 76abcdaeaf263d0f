package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
)

// errSyntax marks a document the scanner cannot read; the caller reports
// encoding/json's own error for it.
var errSyntax = errors.New("invalid JSON")

// smallObject is how many member names an object may have before
// duplicates are looked up in a map rather than by comparing with each
// earlier name.
const smallObject = 16

// scanner walks a JSON document once, beside the plan of the value it is
// decoded into, without building anything but the names it compares.
type scanner struct {
	data  []byte
	i     int
	depth int
}

func (s *scanner) document(p *plan) error {
	s.space()
	if err := s.value(p); err != nil {
		return err
	}
	s.space()
	if s.i != len(s.data) {
		return errSyntax
	}
	return nil
}

func (s *scanner) space() {
	for s.i < len(s.data) {
		switch s.data[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) value(p *plan) error {
	if s.i >= len(s.data) {
		return errSyntax
	}
	switch c := s.data[s.i]; {
	case c == '{':
		return s.object(p)
	case c == '[':
		return s.array(p)
	case c == '"':
		_, _, err := s.str()
		return err
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return errSyntax
}

func (s *scanner) object(p *plan) error {
	elem, empty, err := s.open(p, '}')
	if err != nil || empty {
		return err
	}
	var small [smallObject][]byte
	names := small[:0]
	var many map[string]struct{}
	for {
		if s.i >= len(s.data) || s.data[s.i] != '"' {
			return errSyntax
		}
		start := s.i
		name, escaped, err := s.str()
		if err != nil {
			return err
		}
		if escaped || !utf8.Valid(name) {
			// Rare: the name's bytes are not its value.
			name = unquote(s.data[start:s.i])
		}
		if many != nil {
			if _, dup := many[string(name)]; dup {
				return duplicate(name, start)
			}
			many[string(name)] = struct{}{}
		} else {
			for _, n := range names {
				if bytes.Equal(n, name) {
					return duplicate(name, start)
				}
			}
			if len(names) < smallObject {
				names = append(names, name)
			} else {
				many = make(map[string]struct{}, 2*smallObject)
				for _, n := range names {
					many[string(n)] = struct{}{}
				}
				many[string(name)] = struct{}{}
			}
		}
		member := elem
		if p != nil && p.isStruct {
			var err error
			if member, err = p.member(name, start); err != nil {
				return err
			}
		}
		s.space()
		if s.i >= len(s.data) || s.data[s.i] != ':' {
			return errSyntax
		}
		s.i++
		s.space()
		if err := s.value(member); err != nil {
			return err
		}
		if more, err := s.next('}'); err != nil || !more {
			return err
		}
	}
}

// member returns the plan of the struct field named exactly name, nil if
// there is none, or an error if name matches a field only when case is
// ignored.
func (p *plan) member(name []byte, offset int) (*plan, error) {
	for _, f := range p.fields {
		if bytes.Equal(f.name, name) {
			return f.plan, nil
		}
	}
	for _, f := range p.fields {
		if bytes.EqualFold(f.name, name) {
			return nil, fmt.Errorf("%w: %.60q is not %q (offset %d)", ErrFoldedName, name, f.name, offset)
		}
	}
	return nil, nil
}

func duplicate(name []byte, offset int) error {
	return fmt.Errorf("%w %.60q (offset %d)", ErrDuplicateName, name, offset)
}

func (s *scanner) array(p *plan) error {
	elem, empty, err := s.open(p, ']')
	if err != nil || empty {
		return err
	}
	for {
		if err := s.value(elem); err != nil {
			return err
		}
		if more, err := s.next(']'); err != nil || !more {
			return err
		}
	}
}

// open enters an object or array at its opening bracket. It returns the
// plan of the container's elements (of a map, slice or array) and whether
// closer follows at once.
func (s *scanner) open(p *plan, closer byte) (elem *plan, empty bool, err error) {
	if s.depth++; s.depth > maxDepth {
		return nil, false, errSyntax
	}
	s.i++
	if p != nil {
		elem = p.elem
	}
	s.space()
	if s.i < len(s.data) && s.data[s.i] == closer {
		s.i++
		s.depth--
		return nil, true, nil
	}
	return elem, false, nil
}

// next reads what follows a member or element: a comma (more is true) or
// closer, which leaves the container.
func (s *scanner) next(closer byte) (more bool, err error) {
	s.space()
	if s.i >= len(s.data) {
		return false, errSyntax
	}
	switch s.data[s.i] {
	case ',':
		s.i++
		s.space()
		return true, nil
	case closer:
		s.i++
		s.depth--
		return false, nil
	}
	return false, errSyntax
}

// str scans a string starting at its opening quote. It returns the bytes
// between the quotes and whether they hold an escape. Unless escaped is
// false and they are valid UTF-8 (encoding/json turns invalid UTF-8 into
// U+FFFD), they are not the string's value.
func (s *scanner) str() (raw []byte, escaped bool, err error) {
	s.i++ // '"'
	start := s.i
	for s.i < len(s.data) {
		c := s.data[s.i]
		switch {
		case c == '"':
			raw = s.data[start:s.i]
			s.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			s.i++
			if s.i >= len(s.data) {
				return nil, false, errSyntax
			}
			switch s.data[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+5 > len(s.data) {
					return nil, false, errSyntax
				}
				for _, h := range s.data[s.i+1 : s.i+5] {
					if !isHex(h) {
						return nil, false, errSyntax
					}
				}
				s.i += 5
			default:
				return nil, false, errSyntax
			}
		case c < 0x20:
			return nil, false, errSyntax
		default:
			s.i++
		}
	}
	return nil, false, errSyntax
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// unquote decodes a quoted JSON string exactly as encoding/json does
// (escapes, surrogate pairs, U+FFFD for invalid UTF-8 and lone
// surrogates). It is only called for names that need it, which are rare.
func unquote(quoted []byte) []byte {
	var v string
	if json.Unmarshal(quoted, &v) != nil {
		// Unreachable: str has validated the string.
		return quoted
	}
	return []byte(v)
}

func (s *scanner) number() error {
	d := s.data
	if d[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(d) && d[s.i] == '0':
		s.i++
	case s.i < len(d) && '1' <= d[s.i] && d[s.i] <= '9':
		s.digits()
	default:
		return errSyntax
	}
	if s.i < len(d) && d[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			return errSyntax
		}
	}
	if s.i < len(d) && (d[s.i] == 'e' || d[s.i] == 'E') {
		s.i++
		if s.i < len(d) && (d[s.i] == '+' || d[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			return errSyntax
		}
	}
	return nil
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.data) && '0' <= s.data[s.i] && s.data[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.i:], []byte(lit)) {
		return errSyntax
	}
	s.i += len(lit)
	return nil
}
