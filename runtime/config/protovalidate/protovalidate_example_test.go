package protovalidate_test

import (
	"context"
	"fmt"

	"github.com/protomicro/micro/runtime/config"
	"github.com/protomicro/micro/runtime/config/protovalidate"
)

func ExampleValidate() {
	// testConfig stands for a generated *configpb.Config whose port field
	// carries [(buf.validate.field).int32 = {gt: 0, lte: 65535}].
	c, err := config.New(context.Background(), config.WithSources(
		config.Defaults(map[string]any{"name": "greeter", "port": 70000}),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	_, err = config.Bind[*testConfig](c, protovalidate.Validate[*testConfig]())
	fmt.Println(err)
	// Output:
	// invalid config: key "port": must be greater than 0 and less than or equal to 65535 (int32.gt_lte)
}
