package micro

import (
	"fmt"
	"os"
	"strings"
)

// setting is a value an operator may set with a flag or an environment
// variable.
type setting struct {
	flag, env string
}

var (
	addressSetting         = setting{"address", "MICRO_ADDRESS"}
	advertiseSetting       = setting{"advertise", "MICRO_ADVERTISE"}
	registrySetting        = setting{"registry", "MICRO_REGISTRY"}
	registryAddressSetting = setting{"registry_address", "MICRO_REGISTRY_ADDRESS"}
	syncSetting            = setting{"sync", "MICRO_SYNC"}
	syncAddressSetting     = setting{"sync_address", "MICRO_SYNC_ADDRESS"}
	adminAddressSetting    = setting{"admin_address", "MICRO_ADMIN_ADDRESS"}
	adminPprofSetting      = setting{"admin_pprof", "MICRO_ADMIN_PPROF"}
	brokerSetting          = setting{"broker", "MICRO_BROKER"}
	brokerAddressSetting   = setting{"broker_address", "MICRO_BROKER_ADDRESS"}
)

// lookup returns the setting's value from args (as --flag=value, --flag
// value, or with one dash) or else from the environment, and whether either
// had it; an empty variable counts as unset. Arguments after "--" are not
// flags.
func (s setting) lookup(args []string) (string, bool, error) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			break
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-"), "=")
		if !strings.HasPrefix(arg, "-") || name != s.flag {
			continue
		}
		if !hasValue {
			if i+1 == len(args) || strings.HasPrefix(args[i+1], "-") {
				return "", false, fmt.Errorf("flag --%s needs a value", s.flag)
			}
			value = args[i+1]
		}
		return value, true, nil
	}
	value := os.Getenv(s.env)
	return value, value != "", nil
}
