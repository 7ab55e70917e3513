/** Entry: reads the key (fragment first, then this tab's session storage) and mounts the page. */

import { html, render } from 'htm/preact';
import { App } from './app';
import { parseFragment } from './settings';
import { KEY_STORAGE_NAME, readSession, writeSession } from './storage';

function takeKeyFromFragment(): { key: string | null; refreshSeconds: number } {
  const settings = parseFragment(window.location.hash);
  if (settings.key !== null) {
    writeSession(KEY_STORAGE_NAME, settings.key);
    // The key must not linger in the address bar or history; other settings stay.
    history.replaceState(history.state, '', `${window.location.pathname}${window.location.search}${settings.fragmentWithoutKey}`);
  }
  return { key: settings.key ?? readSession(KEY_STORAGE_NAME), refreshSeconds: settings.refreshSeconds };
}

const root = document.getElementById('app');
if (root) {
  const { key, refreshSeconds } = takeKeyFromFragment();
  root.textContent = '';
  render(html`<${App} initialKey=${key} refreshSeconds=${refreshSeconds} />`, root);
}
