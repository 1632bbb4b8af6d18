package generator

import (
	"fmt"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/compiler/protogen"
)

// httpRule is one HTTP route of a method, from its google.api.http option.
type httpRule struct {
	method, path, body, responseBody string
}

// httpRules reads the google.api.http option of every method in file,
// additional bindings included, and rejects rules without a verb or path.
func httpRules(file *protogen.File) (map[*protogen.Method][]httpRule, error) {
	rules := make(map[*protogen.Method][]httpRule)
	for _, service := range file.Services {
		for _, method := range service.Methods {
			rule, err := methodHTTPRule(method)
			if err != nil {
				return nil, fmt.Errorf("method %s: option (google.api.http): %w", method.Desc.FullName(), err)
			}
			if rule == nil {
				continue
			}
			top, err := convertHTTPRule(rule)
			if err != nil {
				return nil, fmt.Errorf("method %s: option (google.api.http): %w", method.Desc.FullName(), err)
			}
			rules[method] = append(rules[method], top)
			for i, binding := range rule.GetAdditionalBindings() {
				if len(binding.GetAdditionalBindings()) > 0 {
					return nil, fmt.Errorf("method %s: option (google.api.http): additional_bindings[%d] has additional_bindings of its own, which google.api.http does not allow", method.Desc.FullName(), i)
				}
				extra, err := convertHTTPRule(binding)
				if err != nil {
					return nil, fmt.Errorf("method %s: option (google.api.http): additional_bindings[%d]: %w", method.Desc.FullName(), i, err)
				}
				rules[method] = append(rules[method], extra)
			}
		}
	}
	return rules, nil
}

// methodHTTPRule returns the google.api.http option of method, or nil.
func methodHTTPRule(method *protogen.Method) (*annotations.HttpRule, error) {
	rule := new(annotations.HttpRule)
	ok, err := extension(method.Desc.Options(), annotations.E_Http, rule)
	if err != nil || !ok {
		return nil, err
	}
	return rule, nil
}

func convertHTTPRule(rule *annotations.HttpRule) (httpRule, error) {
	r := httpRule{body: rule.GetBody(), responseBody: rule.GetResponseBody()}
	switch pattern := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		r.method, r.path = "GET", pattern.Get
	case *annotations.HttpRule_Put:
		r.method, r.path = "PUT", pattern.Put
	case *annotations.HttpRule_Post:
		r.method, r.path = "POST", pattern.Post
	case *annotations.HttpRule_Delete:
		r.method, r.path = "DELETE", pattern.Delete
	case *annotations.HttpRule_Patch:
		r.method, r.path = "PATCH", pattern.Patch
	case *annotations.HttpRule_Custom:
		r.method, r.path = pattern.Custom.GetKind(), pattern.Custom.GetPath()
		if r.method == "" {
			return r, fmt.Errorf("custom pattern has no kind (the HTTP verb)")
		}
	default:
		return r, fmt.Errorf("no pattern: set one of get, put, post, delete, patch or custom")
	}
	if r.path == "" {
		return r, fmt.Errorf("%s has an empty path", r.method)
	}
	return r, nil
}
