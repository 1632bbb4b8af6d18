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

// FuzzDecodeBody checks that a record body of any bytes (a log corrupted
// by a crash of the host) is decoded or refused, never a panic, and that
// what a record of a header and data holds decodes back to them.
func FuzzDecodeBody(f *testing.F) {
	rec, err := appendRecord(nil, map[string][]string{"ce-id": {"1"}, "k": {"a", "b"}, "empty": {}}, []byte("data"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(rec[recordHeaderSize:])
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		header, data, err := decodeBody(body)
		if err != nil {
			return
		}
		again, err := appendRecord(nil, header, data)
		if err != nil {
			t.Fatalf("appendRecord of a decoded body: %v", err)
		}
		header2, data2, err := decodeBody(again[recordHeaderSize:])
		if err != nil || !reflect.DeepEqual(header, header2) || string(data) != string(data2) {
			t.Fatalf("round trip of %q: %v %q, %v, want %v %q", body, header2, data2, err, header, data)
		}
	})
}
