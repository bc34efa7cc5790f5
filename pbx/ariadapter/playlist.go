package ariadapter

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/CyCoreSystems/ari/v5"

	"github.com/hotline-acd/hotline/pbx"
)

// A Play of several media URIs is played here item by item, each item a
// playback of its own, and shown to the router as one playback. Asterisk's
// own multi-media playback, once stopped with DELETE /playbacks/{id}, can
// still start its next item a few milliseconds later, and a channel added
// to a bridge then waits for that item to end (0.8 s and 3.3 s seen on
// 22.10.1, see shared/ari/README.md). Played one by one, a stop stops the
// whole list: the next item is never requested.
//
// The router sees the logical playback only: PlaybackStarted of the first
// item and PlaybackFinished of the last (or of the one that was playing
// when the list was stopped), both under the id it chose.
type playlists struct {
	mu     sync.Mutex
	byItem map[string]*playlist // physical playback id -> its list
	byID   map[string]*playlist // logical id -> list
}

type playlist struct {
	id      string // the router's playback id
	channel string
	media   []string
	idx     int    // item playing (or being requested)
	item    string // physical id of that item; "" while the next is requested
	stopped bool
}

func newPlaylists() *playlists {
	return &playlists{byItem: map[string]*playlist{}, byID: map[string]*playlist{}}
}

func itemID(id string, idx int) string {
	if idx == 0 {
		return id
	}
	return fmt.Sprintf("%s-i%d", id, idx)
}

// playList starts a list; its first item carries the logical id.
func (c *Client) playList(ctx context.Context, channelID, id string, media []string) error {
	pl := &playlist{id: id, channel: channelID, media: media, item: id}
	c.lists.mu.Lock()
	c.lists.byItem[id], c.lists.byID[id] = pl, pl
	c.lists.mu.Unlock()
	if err := c.playOne(ctx, channelID, id, media[0]); err != nil {
		c.lists.mu.Lock()
		delete(c.lists.byItem, id)
		delete(c.lists.byID, id)
		c.lists.mu.Unlock()
		return err
	}
	return nil
}

func (c *Client) playOne(ctx context.Context, channelID, playbackID, media string) error {
	return c.call(ctx, opChannel, "play", channelID, func() error {
		_, err := c.nc.Channel().Play(c.key(ari.ChannelKey, channelID), playbackID, media)
		return err
	})
}

// stopList stops a list; ok is false when id is no list of ours.
func (c *Client) stopList(ctx context.Context, id string) (ok bool, err error) {
	c.lists.mu.Lock()
	pl := c.lists.byID[id]
	if pl == nil {
		c.lists.mu.Unlock()
		return false, nil
	}
	pl.stopped = true
	item := pl.item
	c.lists.mu.Unlock()
	if item == "" {
		// Between two items: the request for the next one sees stopped.
		return true, nil
	}
	return true, c.stopOne(ctx, item)
}

func (c *Client) stopOne(ctx context.Context, playbackID string) error {
	return c.call(ctx, opOther, "stop playback", playbackID, func() error {
		return c.nc.Playback().Stop(c.key(ari.PlaybackKey, playbackID))
	})
}

// filterPlayback turns the events of list items into events of their list.
// It runs on the reader and never blocks: the next item is requested on a
// goroutine of the client's. It returns the event to forward, and whether
// there is one.
func (c *Client) filterPlayback(ev pbx.Event) (pbx.Event, bool) {
	if ev.Type != pbx.PlaybackStarted && ev.Type != pbx.PlaybackFinished {
		return ev, true
	}
	c.lists.mu.Lock()
	defer c.lists.mu.Unlock()
	pl := c.lists.byItem[ev.PlaybackID]
	if pl == nil {
		return ev, true
	}
	if ev.Type == pbx.PlaybackStarted {
		return ev, pl.idx == 0
	}
	delete(c.lists.byItem, ev.PlaybackID)
	pl.item = ""
	if pl.stopped || pl.idx+1 >= len(pl.media) {
		delete(c.lists.byID, pl.id)
		ev.PlaybackID = pl.id
		return ev, true
	}
	pl.idx++
	next, media := itemID(pl.id, pl.idx), pl.media[pl.idx]
	c.lists.byItem[next] = pl
	c.inflight.Add(1)
	go func() {
		defer c.inflight.Done()
		c.playNext(pl, next, media, ev)
	}()
	return pbx.Event{}, false
}

// playNext requests the next item of a list. If the list was stopped
// meanwhile, or the request fails (the channel hung up), the list ends
// here with a PlaybackFinished of its own.
func (c *Client) playNext(pl *playlist, item, media string, last pbx.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.CommandTimeout)
	defer cancel()
	err := c.playOne(ctx, pl.channel, item, media)
	c.lists.mu.Lock()
	stopped := pl.stopped
	// The item may already have finished (its events can beat the REST
	// answer) and the list moved on or ended: only the item playing is
	// stoppable, and only a live list can end here.
	_, live := c.lists.byID[pl.id]
	current := live && itemID(pl.id, pl.idx) == item
	if err == nil && !stopped && current {
		pl.item = item
	}
	c.lists.mu.Unlock()
	switch {
	case err != nil && !current:
		// Its events came although the request failed (a timeout): the
		// list has moved on without it.
		c.log.Debug("list item request failed after it played", zap.String("playback", item), zap.Error(err))
	case err != nil:
		c.lists.mu.Lock()
		delete(c.lists.byItem, item)
		delete(c.lists.byID, pl.id)
		c.lists.mu.Unlock()
		c.log.Debug("playlist ended: next item refused", zap.String("playback", pl.id), zap.String("channel", pl.channel), zap.Error(err))
		last.PlaybackID, last.PlaybackState, last.Time = pl.id, "failed", time.Now()
		c.queue.push(last)
	case stopped && current:
		// Stopped while this item was being requested: stop it now; its
		// PlaybackFinished ends the list.
		c.lists.mu.Lock()
		pl.item = item
		c.lists.mu.Unlock()
		if err := c.stopOne(ctx, item); err != nil {
			c.log.Debug("stopping a list item", zap.String("playback", item), zap.Error(err))
		}
	}
}
