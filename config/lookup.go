package config

// Topic returns the topic with the given id (its key under topics:).
func (c *Config) Topic(id string) (*Topic, bool) {
	t, ok := c.Topics[id]
	return t, ok && t != nil
}

// OperatorByID returns the operator with the given id.
func (c *Config) OperatorByID(id string) (*Operator, bool) {
	for i := range c.Operators {
		if c.Operators[i].ID == id {
			return &c.Operators[i], true
		}
	}
	return nil, false
}

// Node returns the IVR node with the given name.
func (c *Config) Node(name string) (*Node, bool) {
	n, ok := c.IVR.Nodes[name]
	return n, ok && n != nil
}

// HasLanguage reports whether code is one of the configured languages.
func (c *Config) HasLanguage(code string) bool {
	for _, l := range c.Languages {
		if l.Code == code {
			return true
		}
	}
	return false
}
