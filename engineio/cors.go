package engineio

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

var defaultCORSMethods = "GET,HEAD,PUT,PATCH,POST,DELETE"

// apply sets the CORS headers of a response, with the defaults of the npm
// cors package that Node installs. It answers a preflight (OPTIONS) itself
// with 204 and returns true; otherwise the request goes on.
func (o *CORSOptions) apply(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	origin := r.Header.Get("Origin")
	// Like the npm package: "*" needs no Vary; a reflected origin varies
	// with the request, whether or not this one is allowed.
	if allowed := o.allowedOrigin(origin); allowed == "*" {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		if allowed != "" {
			h.Set("Access-Control-Allow-Origin", allowed)
		}
		h.Add("Vary", "Origin")
	}
	if o.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(o.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(o.ExposedHeaders, ","))
	}
	if r.Method != http.MethodOptions {
		return false
	}
	methods := defaultCORSMethods
	if o.Methods != nil {
		methods = strings.Join(o.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if o.AllowedHeaders != nil {
		h.Set("Access-Control-Allow-Headers", strings.Join(o.AllowedHeaders, ","))
	} else if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
		h.Add("Vary", "Access-Control-Request-Headers")
	}
	if o.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(o.MaxAge.Seconds())))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return true
}

// allowedOrigin returns the Access-Control-Allow-Origin value for origin:
// "*", the origin itself, or "" (no header: the browser refuses).
func (o *CORSOptions) allowedOrigin(origin string) string {
	if o.AllowOrigin != nil {
		if origin != "" && o.AllowOrigin(origin) {
			return origin
		}
		return ""
	}
	if len(o.Origins) == 0 || len(o.Origins) == 1 && o.Origins[0] == "*" {
		return "*"
	}
	if origin != "" && slices.Contains(o.Origins, origin) {
		return origin
	}
	return ""
}
