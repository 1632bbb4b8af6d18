package gateway

import (
	"sync"
	"time"
)

// statsMinutes is how many minutes of calls a gateway remembers per service.
const statsMinutes = 30

// Minute is what a gateway counted of the calls to one service in one minute.
type Minute struct {
	// Start is the minute's start, in UTC.
	Start time.Time `json:"start"`
	// Calls is how many calls the gateway forwarded to the service, and
	// Errors how many of them ended in an error (of any code).
	Calls  int `json:"calls"`
	Errors int `json:"errors"`
}

// stats counts the calls the gateway forwards, by registry service and
// minute, over the last statsMinutes minutes. It is safe for concurrent use.
type stats struct {
	mu       sync.Mutex
	services map[string]*[statsMinutes]Minute
	now      func() time.Time
}

// add counts a call to service that ended with err.
func (s *stats) add(service string, err error) {
	start := s.now().UTC().Truncate(time.Minute)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.services == nil {
		s.services = make(map[string]*[statsMinutes]Minute)
	}
	ring := s.services[service]
	if ring == nil {
		ring = new([statsMinutes]Minute)
		s.services[service] = ring
	}
	m := &ring[start.Unix()/60%statsMinutes]
	if !m.Start.Equal(start) {
		*m = Minute{Start: start}
	}
	m.Calls++
	if err != nil {
		m.Errors++
	}
}

// recent returns the last n minutes of service, the oldest first, this one
// last; minutes with no calls are there with zero counts.
func (s *stats) recent(service string, n int) []Minute {
	n = max(1, min(n, statsMinutes))
	now := s.now().UTC().Truncate(time.Minute)
	out := make([]Minute, n)
	s.mu.Lock()
	defer s.mu.Unlock()
	ring := s.services[service]
	for i := range out {
		start := now.Add(-time.Duration(n-1-i) * time.Minute)
		out[i] = Minute{Start: start}
		if ring != nil {
			if m := ring[start.Unix()/60%statsMinutes]; m.Start.Equal(start) {
				out[i] = m
			}
		}
	}
	return out
}

// Recent returns what the gateway counted of the calls it forwarded to the
// registry service called service in each of the last n minutes (at most
// 30), the oldest first and the current minute last. A call is counted when
// it ends; a stream, when it ends.
func (g *Gateway) Recent(service string, n int) []Minute { return g.stats.recent(service, n) }
