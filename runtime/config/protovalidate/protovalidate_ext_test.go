package protovalidate_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	bufprotovalidate "buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/runtime/protoimpl"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/runtime/config/protovalidate"
	"github.com/protomicro/micro/testdata/testutil"
)

// testConfig is a config message whose fields carry buf.validate rules:
//
//	message Config {
//	  string name = 1 [(buf.validate.field).string.min_len = 1];
//	  int32 port = 2 [(buf.validate.field).int32 = {gt: 0, lte: 65535}];
//	}
//
// [config.Bind] needs a Go type for the message, which a dynamicpb message
// is not, so this is what protoc-gen-go would generate for it, written out
// from a descriptor built in Go: the test then needs neither
// buf/validate/validate.proto's source nor a generate step.
type testConfig struct {
	state         protoimpl.MessageState `protogen:"open.v1"`
	Name          string                 `protobuf:"bytes,1,opt,name=name,proto3" json:"name,omitempty"`
	Port          int32                  `protobuf:"varint,2,opt,name=port,proto3" json:"port,omitempty"`
	unknownFields protoimpl.UnknownFields
	sizeCache     protoimpl.SizeCache
}

func (x *testConfig) ProtoReflect() protoreflect.Message {
	mi := &testConfigTypes[0]
	if x != nil {
		ms := protoimpl.X.MessageStateOf(protoimpl.Pointer(x))
		if ms.LoadMessageInfo() == nil {
			ms.StoreMessageInfo(mi)
		}
		return ms
	}
	return mi.MessageOf(x)
}

var (
	testConfigTypes = make([]protoimpl.MessageInfo, 1)
	_               = buildTestConfigFile()
)

// buildTestConfigFile registers testConfig's file, as generated code's init
// does.
func buildTestConfigFile() protoreflect.FileDescriptor {
	field := func(name string, number int32, kind descriptorpb.FieldDescriptorProto_Type, rules *validate.FieldRules) *descriptorpb.FieldDescriptorProto {
		opts := &descriptorpb.FieldOptions{}
		proto.SetExtension(opts, validate.E_Field, rules)
		return &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(number),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: kind.Enum(), Options: opts,
		}
	}
	file := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("micro/config/protovalidatetest/config.proto"),
		Package:    proto.String("micro.config.protovalidatetest"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{validate.File_buf_validate_validate_proto.Path()},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Config"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("name", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, validate.FieldRules_builder{
					String: validate.StringRules_builder{MinLen: proto.Uint64(1)}.Build(),
				}.Build()),
				field("port", 2, descriptorpb.FieldDescriptorProto_TYPE_INT32, validate.FieldRules_builder{
					Int32: validate.Int32Rules_builder{Gt: proto.Int32(0), Lte: proto.Int32(65535)}.Build(),
				}.Build()),
			},
		}},
	}
	raw, err := proto.Marshal(file)
	if err != nil {
		panic(err)
	}
	return protoimpl.TypeBuilder{
		File: protoimpl.DescBuilder{
			GoPackagePath: reflect.TypeFor[testConfig]().PkgPath(),
			RawDescriptor: raw,
			NumMessages:   1,
		},
		GoTypes:           []any{(*testConfig)(nil)},
		DependencyIndexes: []int32{0, 0, 0, 0, 0}, // no field, extension or method refers to a type
		MessageInfos:      testConfigTypes,
	}.Build().File
}

func newConfig(t *testing.T, content string) (*config.Config, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, content)
	logger := config.WithLogger(slog.New(slog.NewTextHandler(t.Output(), nil)))
	c, err := config.New(testutil.Context(t), logger, config.WithoutWatch(), config.WithSources(config.File(path)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, path
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestReloadBreakingRuleIsRejected(t *testing.T) {
	t.Parallel()
	c, path := newConfig(t, "name: app\nport: 8080\n")
	v, err := config.Bind[*testConfig](c, protovalidate.Validate[*testConfig]())
	if err != nil {
		t.Fatal(err)
	}
	var rejected error
	stop := v.Watch(func(_, _ *testConfig, err error) { rejected = err })
	defer stop()

	writeFile(t, path, "name: app\nport: 70000\n")
	err = c.Reload(testutil.Context(t))
	if err == nil {
		t.Fatal("Reload() with port 70000 = nil, want an error")
	}
	const want = `key "port": must be greater than 0 and less than or equal to 65535 (int32.gt_lte)`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("Reload() = %v, want it to contain %s", err, want)
	}
	var configErr *config.Error
	if !errors.As(err, &configErr) || configErr.Key != "port" {
		t.Errorf("Reload() = %v, want a *config.Error with Key port", err)
	}
	var validationErr *bufprotovalidate.ValidationError
	if !errors.As(err, &validationErr) {
		t.Errorf("Reload() = %v, want a *protovalidate.ValidationError", err)
	}
	if got := v.Get(); got.Name != "app" || got.Port != 8080 {
		t.Errorf("Get() = {%q, %d} after a rejected reload, want the last good {app, 8080}", got.Name, got.Port)
	}
	if rejected == nil {
		t.Error("Watch callback got no error for the rejected reload")
	}

	writeFile(t, path, "name: app\nport: 9090\n")
	if err := c.Reload(testutil.Context(t)); err != nil {
		t.Fatalf("Reload() with port 9090 = %v", err)
	}
	if got := v.Get().Port; got != 9090 {
		t.Errorf("Get().Port = %d after a good reload, want 9090", got)
	}
}

func TestBindBreakingRulesFails(t *testing.T) {
	t.Parallel()
	c, _ := newConfig(t, "name: ''\nport: 0\n")
	_, err := config.Bind[*testConfig](c, protovalidate.Validate[*testConfig]())
	if err == nil {
		t.Fatal("Bind() with an empty name and port 0 = nil, want an error")
	}
	// Every violation is named, not only the first.
	for _, want := range []string{`key "name": `, "(string.min_len)", `key "port": `, "(int32.gt_lte)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Bind() = %v, want it to contain %s", err, want)
		}
	}
}
