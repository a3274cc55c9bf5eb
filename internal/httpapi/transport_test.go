package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestProxyFor(t *testing.T) {
	old := EnvProxy
	EnvProxy = func(*http.Request) (*url.URL, error) { return &url.URL{Scheme: "http", Host: "proxy:3128"}, nil }
	t.Cleanup(func() { EnvProxy = old })
	for host, direct := range map[string]bool{
		"127.0.0.1:8080": true, "localhost": true, "[::1]:9": true, "127.1.2.3": true, "api.localhost": true,
		"10.0.0.5:8000": false, "example.com": false,
	} {
		req := httptest.NewRequest("GET", "http://"+host+"/", nil)
		u, _ := ProxyFor(req)
		if (u == nil) != direct {
			t.Errorf("%s: proxy %v, want direct=%v", host, u, direct)
		}
	}
}
