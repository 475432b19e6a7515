package api

import (
	"net/http"
	"testing"
)

// validatingTransport checks every response against the reference OpenAPI
// description. (Stub: the validator lands with the conformance tests.)
type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return v.base.RoundTrip(req)
}
