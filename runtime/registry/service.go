package registry

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// Clone returns a deep copy of s; backends hand out copies so that callers
// cannot change what the registry holds.
func (s *Service) Clone() *Service {
	if s == nil {
		return nil
	}
	out := &Service{
		Name:     s.Name,
		Version:  s.Version,
		Metadata: maps.Clone(s.Metadata),
	}
	if s.Endpoints != nil {
		out.Endpoints = make([]*Endpoint, len(s.Endpoints))
		for i, e := range s.Endpoints {
			c := *e
			c.HTTP = append(c.HTTP[:0:0], e.HTTP...)
			if e.Access != nil {
				access := *e.Access
				access.Scopes = append(access.Scopes[:0:0], e.Access.Scopes...)
				c.Access = &access
			}
			c.FieldDocs = maps.Clone(e.FieldDocs)
			out.Endpoints[i] = &c
		}
	}
	out.Subscriptions = slices.Clone(s.Subscriptions)
	if s.Nodes != nil {
		out.Nodes = make([]*Node, len(s.Nodes))
		for i, n := range s.Nodes {
			out.Nodes[i] = &Node{ID: n.ID, Address: n.Address, Metadata: maps.Clone(n.Metadata)}
		}
	}
	return out
}

// Validate reports what makes s unfit to register: a missing name, no nodes,
// or a node without an ID or address. Backends call it in Register.
func (s *Service) Validate() error {
	if s == nil || s.Name == "" {
		return fmt.Errorf("register: service has no name")
	}
	if len(s.Nodes) == 0 {
		return fmt.Errorf("register service %q: no nodes", s.Name)
	}
	for _, n := range s.Nodes {
		if n == nil || n.ID == "" {
			return fmt.Errorf("register service %q: a node has no id", s.Name)
		}
		if n.Address == "" {
			return fmt.Errorf("register service %q: node %q has no address", s.Name, n.ID)
		}
	}
	return nil
}

// Group merges registrations of one node each, as backends that keep a
// record per node read them back, into one [Service] per name and version.
// The result is sorted by name and version, and each service's nodes by ID;
// nodes is reordered. Used by backends.
func Group(nodes []*Service) []*Service {
	slices.SortFunc(nodes, func(a, b *Service) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Nodes[0].ID, b.Nodes[0].ID))
	})
	var out []*Service
	for _, s := range nodes {
		if last := len(out) - 1; last >= 0 && out[last].Name == s.Name && out[last].Version == s.Version {
			out[last].Nodes = append(out[last].Nodes, s.Nodes[0])
			continue
		}
		out = append(out, s)
	}
	return out
}
