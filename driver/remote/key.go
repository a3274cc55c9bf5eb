package remote

import (
	"io"
	"os"
	"strings"

	"github.com/tetherllm/tether/llm"
)

// maxKeyFile bounds a key file: keys are short, and a path given by
// mistake to something large should fail rather than be read.
const maxKeyFile = 64 << 10

// apiKey returns the key from the one place o names. Its errors name
// the variable or the file, never the key.
func (o *Options) apiKey() (string, error) {
	set := 0
	for _, s := range []string{o.APIKey, o.APIKeyEnv, o.APIKeyFile} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		return "", &llm.ConfigError{Setting: "api key", Value: "(several)", Reason: "give the key one way: APIKey, APIKeyEnv or APIKeyFile"}
	}
	switch {
	case o.APIKeyEnv != "":
		key := strings.TrimSpace(os.Getenv(o.APIKeyEnv))
		if key == "" {
			return "", &llm.ConfigError{Setting: "api_key_env", Value: o.APIKeyEnv, Reason: "the environment variable is unset or empty"}
		}
		return key, nil
	case o.APIKeyFile != "":
		f, err := os.Open(o.APIKeyFile)
		if err != nil {
			return "", &llm.ConfigError{Setting: "api_key_file", Value: o.APIKeyFile, Reason: err.Error()}
		}
		defer f.Close()
		buf := make([]byte, maxKeyFile+1)
		n, _ := io.ReadFull(f, buf)
		if n > maxKeyFile {
			return "", &llm.ConfigError{Setting: "api_key_file", Value: o.APIKeyFile, Reason: "larger than 64 KiB: not a key file"}
		}
		key := strings.TrimSpace(string(buf[:n]))
		if key == "" {
			return "", &llm.ConfigError{Setting: "api_key_file", Value: o.APIKeyFile, Reason: "the file is empty"}
		}
		if strings.ContainsAny(key, "\r\n") {
			return "", &llm.ConfigError{Setting: "api_key_file", Value: o.APIKeyFile, Reason: "the file holds more than one line; it must hold the key alone"}
		}
		return key, nil
	}
	return strings.TrimSpace(o.APIKey), nil
}
