package registry

// Config is the daemon's registry settings (skiff serve's flags and
// daemon.json), which fill in what a pull, push or search leaves unset.
type Config struct {
	// Insecure lists the registries reached over plain HTTP besides the
	// loopback ones: "host", "host:port" or a CIDR.
	Insecure []string
	// Mirrors are tried before Docker Hub for its images, in order.
	Mirrors []string
	// MaxConcurrentDownloads and MaxConcurrentUploads cap the layers moved
	// at once; 0 is Docker's default (3 and 5).
	MaxConcurrentDownloads int
	MaxConcurrentUploads   int
	// IndexURL is the Docker Hub search index; "" is DefaultIndexURL. Set
	// for tests, and for an air-gapped mirror of the index.
	IndexURL string
}

// FillPull returns opts with what the caller left empty taken from the
// config: insecure registries, mirrors and the download cap.
func (c Config) FillPull(opts Options) Options {
	if len(opts.Insecure) == 0 {
		opts.Insecure = c.Insecure
	}
	if len(opts.Mirrors) == 0 {
		opts.Mirrors = c.Mirrors
	}
	if opts.MaxConcurrentDownloads == 0 {
		opts.MaxConcurrentDownloads = c.MaxConcurrentDownloads
	}
	return opts
}

// FillPush returns opts with the insecure registries and the upload cap
// taken from the config when the caller left them empty.
func (c Config) FillPush(opts PushOptions) PushOptions {
	if len(opts.Insecure) == 0 {
		opts.Insecure = c.Insecure
	}
	if opts.MaxConcurrentUploads == 0 {
		opts.MaxConcurrentUploads = c.MaxConcurrentUploads
	}
	return opts
}

// FillSearch returns opts with the insecure registries and the index URL
// taken from the config when the caller left them empty.
func (c Config) FillSearch(opts SearchOptions) SearchOptions {
	if len(opts.Insecure) == 0 {
		opts.Insecure = c.Insecure
	}
	if opts.IndexURL == "" {
		opts.IndexURL = c.IndexURL
	}
	return opts
}
