// The local cache (IndexedDB): recent rooms and their latest messages, so the app opens fast before the server
// answers. The server stays the source of truth: the cache is replaced by what rooms.list and rooms.history return.
// Logout and the server's wipe command delete the whole database (deleteLocalData).

export const DB_NAME = 'teamcomms';
const VERSION = 1;

function req<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

let dbPromise: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  if (dbPromise) return dbPromise;
  dbPromise = new Promise((resolve, reject) => {
    const r = indexedDB.open(DB_NAME, VERSION);
    r.onupgradeneeded = () => {
      const db = r.result;
      if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
      if (!db.objectStoreNames.contains('timelines')) db.createObjectStore('timelines');
    };
    r.onsuccess = () => {
      const db = r.result;
      // Another tab deleting the database (logout, wipe) must not be blocked by this connection.
      db.onversionchange = () => {
        db.close();
        dbPromise = null;
      };
      resolve(db);
    };
    r.onerror = () => reject(r.error);
  });
  dbPromise.catch(() => {
    dbPromise = null;
  });
  return dbPromise;
}

export async function cacheGet<T>(store: 'kv' | 'timelines', key: string): Promise<T | undefined> {
  if (typeof indexedDB === 'undefined') return undefined;
  try {
    const db = await open();
    return (await req(db.transaction(store, 'readonly').objectStore(store).get(key))) as T | undefined;
  } catch {
    return undefined;
  }
}

export async function cachePut(store: 'kv' | 'timelines', key: string, value: unknown): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  try {
    const db = await open();
    const tx = db.transaction(store, 'readwrite');
    tx.objectStore(store).put(value, key);
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
  } catch {
    // A full or unavailable cache only costs speed.
  }
}

/** Deletes the whole database (logout, wipe). Resolves once it is gone. */
export async function deleteLocalData(): Promise<void> {
  if (typeof indexedDB === 'undefined') return;
  const p = dbPromise;
  dbPromise = null;
  if (p) {
    try {
      (await p).close();
    } catch {
      // already closed
    }
  }
  await new Promise<void>((resolve) => {
    const r = indexedDB.deleteDatabase(DB_NAME);
    r.onsuccess = () => resolve();
    r.onerror = () => resolve();
    r.onblocked = () => resolve();
  });
}
