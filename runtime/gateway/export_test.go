package gateway

// WithTranscodeAll makes a gateway send every REST call through the
// transcoder, so that a test can compare its answers with those the
// gateway makes itself.
func WithTranscodeAll() Option {
	return optionFunc(func(c *config) { c.transcodeAll = true })
}

// WithServed has a gateway call served for each REST call it answers
// without the transcoder.
func WithServed(served func()) Option {
	return optionFunc(func(c *config) { c.served = served })
}
