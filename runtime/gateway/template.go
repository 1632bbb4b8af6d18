package gateway

import (
	"net/url"
	"slices"
	"strings"
)

// The transcoder lets a query parameter set any field, even one the path or
// the body binds, which it sets before the query. google.api.http says only
// the fields neither binds come from the query, and grpc-gateway ignores the
// others: so the gateway matches a REST request's path against the routes
// itself, only to learn which fields they bind, and drops the query
// parameters for those fields before the transcoder reads them.

// template is a route's URL template, compiled to match paths.
type template struct {
	method   string
	path     string   // as the route has it, for metrics
	segments []string // a literal, or "*" or "**"
	verb     string
	// bound are the field paths the path binds, or, for body "*", nil
	// with all set: then no field comes from the query.
	bound []string
	all   bool
}

// compileTemplate compiles route's template; ok is false for one it cannot
// read, which then drops no parameter.
func compileTemplate(route Route) (template, bool) {
	t := template{method: route.Method, path: route.Path}
	switch route.Body {
	case "":
	case "*":
		t.all = true
	default:
		t.bound = append(t.bound, route.Body)
	}
	path, ok := strings.CutPrefix(route.Path, "/")
	if !ok {
		return t, false
	}
	if i := strings.LastIndexByte(path, ':'); i > strings.LastIndexByte(path, '}') && i > strings.LastIndexByte(path, '/') {
		path, t.verb = path[:i], path[i+1:]
	}
	for path != "" {
		var segment string
		if strings.HasPrefix(path, "{") {
			end := strings.IndexByte(path, '}')
			if end < 0 {
				return t, false
			}
			field, pattern, hasPattern := strings.Cut(path[1:end], "=")
			t.bound = append(t.bound, field)
			if !hasPattern {
				pattern = "*"
			}
			t.segments = append(t.segments, strings.Split(pattern, "/")...)
			path = strings.TrimPrefix(path[end+1:], "/")
			continue
		}
		segment, path, _ = strings.Cut(path, "/")
		t.segments = append(t.segments, segment)
	}
	return t, true
}

// match reports whether the template matches method and path (URL.Path,
// without its leading slash, split at slashes).
func (t template) match(method string, segments []string) bool {
	if t.method != method || len(segments) == 0 {
		return false
	}
	if t.verb != "" {
		last, ok := strings.CutSuffix(segments[len(segments)-1], ":"+t.verb)
		if !ok {
			return false
		}
		segments = append(segments[:len(segments)-1:len(segments)-1], last)
	}
	for i, s := range t.segments {
		if s == "**" {
			return true
		}
		if i >= len(segments) || segments[i] == "" || s != "*" && s != segments[i] {
			return false
		}
	}
	return len(segments) == len(t.segments)
}

// restMatch returns what the routes matching a REST request to path bind:
// the fields its path and body bind, or whole when the body is the whole
// request ("*"); matched is false when no route matches.
func restMatch(templates []template, method, path string) (bound []string, whole, matched bool) {
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, t := range templates {
		if t.match(method, segments) {
			matched = true
			whole = whole || t.all
			bound = append(bound, t.bound...)
		}
	}
	return bound, whole, matched
}

// restRoute returns the template of the first route that matches a REST
// request to path.
func restRoute(templates []template, method, path string) (string, bool) {
	segments := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, t := range templates {
		if t.match(method, segments) {
			return t.path, true
		}
	}
	return "", false
}

// unboundQuery removes from query the parameters for fields in bound, or
// all of them when whole, and reports whether it removed any.
func unboundQuery(query url.Values, bound []string, whole bool) bool {
	dropped := false
	for key := range query {
		if whole || slices.ContainsFunc(bound, func(field string) bool { return key == field || strings.HasPrefix(key, field+".") }) {
			delete(query, key)
			dropped = true
		}
	}
	return dropped
}
