// Package strictjson decodes JSON from the network with exact member names.
//
// encoding/json accepts two things that a security decision must not rest
// on:
//
//   - Duplicate member names. RFC 8259 §4 says names SHOULD be unique and
//     leaves the meaning of duplicates to the parser; encoding/json keeps the
//     last one, other parsers the first. RFC 7515 §5.2 and RFC 7519 §7.2 let
//     a JOSE implementation either reject duplicate header or claim names or
//     use the lexically last one; tokengate rejects them.
//   - Case-folded names. When decoding into a struct, encoding/json matches
//     a member to a field by its exact name or, failing that, by Unicode
//     case folding (bytes.EqualFold), so "AUD" or "ſub" fills the field
//     tagged "aud" or "sub". A member name means what it spells (RFC 7519 §4
//     claim names, RFC 8414 §2 metadata names), and a second spelling must
//     not override the first.
//
// [Unmarshal] refuses both, at every depth, before handing the document to
// encoding/json; [Check] refuses duplicates in a document that some other
// parser (go-jose, jwkset) will read. Syntax errors are encoding/json's own.
package strictjson
