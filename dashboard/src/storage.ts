/** sessionStorage that never throws (storage can be disabled or full). */

export const KEY_STORAGE_NAME = 'gs-dashboard-key';
export const SAMPLES_STORAGE_NAME = 'gs-dashboard-samples';

export function readSession(name: string): string | null {
  try {
    return sessionStorage.getItem(name);
  } catch {
    return null;
  }
}

export function writeSession(name: string, value: string): void {
  try {
    sessionStorage.setItem(name, value);
  } catch {
    // Without storage the page still works; it just forgets on reload.
  }
}

export function removeSession(name: string): void {
  try {
    sessionStorage.removeItem(name);
  } catch {
    // Nothing stored, nothing to forget.
  }
}
