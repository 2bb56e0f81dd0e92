package adaptertest

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Response is an HTTP answer, its body read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends one request with a bearer token and a content type, either left
// out when empty, and reads the whole answer.
func Do(t testing.TB, method, url, token, contentType string, body []byte) Response {
	t.Helper()
	authorization := ""
	if token != "" {
		authorization = "Bearer " + token
	}
	return DoAuthorization(t, method, url, authorization, contentType, body)
}

// DoAuthorization is Do with the whole Authorization header, for tests of
// other schemes and malformed headers.
func DoAuthorization(t testing.TB, method, url, authorization, contentType string, body []byte) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading the answer to %s %s: %v", method, url, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}
