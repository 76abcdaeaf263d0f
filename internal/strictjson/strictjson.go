package strictjson

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Reasons a well-formed document is refused, for use with [errors.Is].
var (
	// ErrDuplicateName means an object has two members with the same name,
	// compared after unescaping ("a" and "\u0061" are the same name).
	ErrDuplicateName = errors.New("strictjson: duplicate member name")
	// ErrFoldedName means an object decoded into a struct has a member whose
	// name differs from one of the struct's field names only in case
	// (Unicode simple folding, as encoding/json matches them).
	ErrFoldedName = errors.New("strictjson: member name matches a field only when case is ignored")
)

// maxDepth is how deeply arrays and objects may nest; it is encoding/json's
// own limit, so that no document valid for one is refused by the other
// merely for its depth.
const maxDepth = 10000

// Unmarshal decodes data into v as [json.Unmarshal] does, after refusing a
// document that has a duplicate member name anywhere ([ErrDuplicateName]),
// or a member, in an object decoded into a struct, whose name matches a
// field only when case is ignored ([ErrFoldedName]). Members that match no
// field are ignored, as encoding/json ignores them. Values decoded by a
// json.Unmarshaler (json.RawMessage among them) or into an interface are
// checked for duplicates only. v is untouched when an error is returned.
func Unmarshal(data []byte, v any) error {
	s := scanner{data: data}
	if err := s.document(planFor(reflect.TypeOf(v))); err != nil {
		return s.fail(err, func() error { return json.Unmarshal(data, v) })
	}
	return json.Unmarshal(data, v)
}

// Check reports whether data is one JSON value with no duplicate member
// name at any depth. Use it before another parser reads the document; an
// error matches [ErrDuplicateName] or is a *json.SyntaxError.
func Check(data []byte) error {
	s := scanner{data: data}
	if err := s.document(nil); err != nil {
		return s.fail(err, func() error { var v any; return json.Unmarshal(data, &v) })
	}
	return nil
}

// fail turns a scanning error into the error to return. A syntax error is
// reported as encoding/json reports it, by letting it parse the document
// (it validates the whole document before touching its target); should it
// accept what the scanner refused, the scanner's own error stands.
func (s *scanner) fail(err error, parse func() error) error {
	if !errors.Is(err, errSyntax) {
		return err
	}
	if jerr := parse(); jerr != nil {
		return jerr
	}
	return fmt.Errorf("strictjson: %w at offset %d", err, s.i)
}
