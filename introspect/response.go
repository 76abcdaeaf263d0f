package introspect

import "github.com/tokengate/tokengate/tokeninfo"

// Response is an RFC 7662 §2.2 introspection response. It is the wire model
// the provider shares, defined in package tokeninfo (see [tokeninfo.Response]
// for its fields, decoding and [tokeninfo.Response.ValidAt]); this name
// keeps resource-server code to one import.
type Response = tokeninfo.Response
