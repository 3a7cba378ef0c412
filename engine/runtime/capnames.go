package runtime

// AllCapabilities lists the capabilities the running kernel knows, by name:
// what --privileged and --cap-add ALL give.
func AllCapabilities() []string {
	names := capabilityNames()
	return names[:min(lastCap()+1, len(names))]
}
