package local

import (
	"reflect"
	"testing"
	"time"

	"github.com/protomicro/micro/runtime/broker"
)

// TestEventRecord checks that the record of an event holds the header the
// event's Header method gives, and its data, whatever attributes it has.
func TestEventRecord(t *testing.T) {
	for _, e := range []*broker.Event{
		{ID: "1", Source: "orders", Type: "shop.Order", Data: []byte("data")},
		{ID: "2", Source: "orders", Type: "shop.Order", Time: time.Date(2026, 12, 2, 5, 0, 0, 123, time.FixedZone("x", 3600)), DataContentType: broker.ContentTypeJSON,
			Extensions: map[string]string{"traceparent": "00-abc-def-01", "deliverycount": "3"}},
	} {
		buf, err := appendEventRecord([]byte("before"), e)
		if err != nil {
			t.Fatalf("appendEventRecord: %v", err)
		}
		header, data, err := decodeBody(buf[len("before")+recordHeaderSize:])
		if err != nil {
			t.Fatalf("decodeBody: %v", err)
		}
		if want := map[string][]string(e.Header()); !reflect.DeepEqual(header, want) {
			t.Errorf("event %s: header %v, want %v", e.ID, header, want)
		}
		if string(data) != string(e.Data) {
			t.Errorf("event %s: data %q, want %q", e.ID, data, e.Data)
		}
	}
}
