package config

import "slices"

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

// CallbackRules returns the callback rules of a topic: the centre's
// callbacks: section with the topic's own callbacks: keys on top (Load
// merges them). An unknown topic gets the centre's rules.
func (c *Config) CallbackRules(topicID string) CallbackRules {
	if t, ok := c.Topic(topicID); ok && t.Callbacks != nil {
		return t.Callbacks.clone()
	}
	return c.Callbacks.clone()
}

// CallbacksEnabled reports whether any topic (or the centre) has callbacks.
func (c *Config) CallbacksEnabled() bool {
	if c.Callbacks.Enabled {
		return true
	}
	for _, t := range c.Topics {
		if t != nil && t.Callbacks != nil && t.Callbacks.Enabled {
			return true
		}
	}
	return false
}

func (r CallbackRules) clone() CallbackRules {
	r.Delays = slices.Clone(r.Delays)
	r.Allow = slices.Clone(r.Allow)
	r.Deny = slices.Clone(r.Deny)
	return r
}

// CallbacksVirtualHold reports whether any topic offers virtual hold.
func (c *Config) CallbacksVirtualHold() bool {
	if c.Callbacks.Enabled && c.Callbacks.VirtualHold.Enabled {
		return true
	}
	for _, t := range c.Topics {
		if t != nil && t.Callbacks != nil && t.Callbacks.Enabled && t.Callbacks.VirtualHold.Enabled {
			return true
		}
	}
	return false
}
