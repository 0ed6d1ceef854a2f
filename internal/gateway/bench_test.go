package gateway

import (
	"io"
	"net/http"
	"testing"
)

// BenchmarkProxyGet is one allowed GET through the gateway to a fake API
// server over loopback: the gateway's own cost, end to end.
func BenchmarkProxyGet(b *testing.B) {
	t := &testing.T{}
	f := newFixture(t)
	tok := f.token(t, "bob")
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/namespaces/payments/pods/web-1", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
