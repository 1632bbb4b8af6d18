package config_test

import (
	"context"
	"fmt"

	"github.com/protomicro/micro/runtime/config"
)

func ExampleBind() {
	type Settings struct {
		Port int `json:"port"`
		DB   struct {
			Host     string `json:"host"`
			Password string `json:"password"`
		} `json:"db"`
	}
	// Defaults in code, overridden by the environment (here given, rather
	// than read from the process).
	c, err := config.New(context.Background(), config.WithSources(
		config.Defaults(map[string]any{"port": 8080, "db": map[string]any{"host": "localhost"}}),
		config.Env("MICRO_CONFIG_", config.WithEnviron(func() []string {
			return []string{"MICRO_CONFIG_PORT=9090", "MICRO_CONFIG_DB__PASSWORD=hunter2"}
		})),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	settings, err := config.Bind[Settings](c, config.Strict())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(settings.Get().Port, settings.Get().DB.Host)
	fmt.Print(c)
	// Output:
	// 9090 localhost
	// db.host = localhost (defaults)
	// db.password = ****** (env MICRO_CONFIG_*)
	// port = 9090 (env MICRO_CONFIG_*)
}
