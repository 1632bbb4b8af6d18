package errors_test

import (
	"fmt"

	"github.com/protomicro/micro/runtime/errors"
)

func ExampleCodeOf() {
	lookup := func(name string) error {
		return errors.Errorf(errors.CodeNotFound, "user %q does not exist", name)
	}
	err := fmt.Errorf("load profile: %w", lookup("ada"))
	fmt.Println(errors.CodeOf(err))
	fmt.Println(err)
	// Output:
	// not_found
	// load profile: not_found: user "ada" does not exist
}
