import type { CollectionInfo } from '../../common/api';
import type { Collection } from '../library/collections';
import type { ApiContext, Handlers } from './types';

/** Collections of documents; every change tells the renderer the library changed. */
export function collectionHandlers(ctx: ApiContext): Handlers<'collections.list' | 'collections.create' | 'collections.rename' | 'collections.remove' | 'collections.addDocuments' | 'collections.removeDocuments'> {
  const changed = <T>(value: T): T => {
    ctx.emit({ type: 'library-changed' });
    return value;
  };
  const collections = ctx.library.collections;
  return {
    'collections.list': ({ documentId }) => ({ collections: (documentId ? collections.of(documentId) : collections.list()).map(collectionInfo) }),
    'collections.create': ({ name }) => changed(collectionInfo(collections.create(name))),
    'collections.rename': ({ collectionId, name }) => changed(collectionInfo(collections.rename(Number(collectionId), name))),
    'collections.remove': ({ collectionId }) => changed({ removed: collectionInfo(collections.remove(Number(collectionId))) }),
    'collections.addDocuments': ({ collectionId, documentIds }) => changed(collectionInfo(collections.addDocuments(Number(collectionId), documentIds))),
    'collections.removeDocuments': ({ collectionId, documentIds }) => changed(collectionInfo(collections.removeDocuments(Number(collectionId), documentIds))),
  };
}

export function collectionInfo(c: Collection): CollectionInfo {
  return { id: String(c.id), name: c.name, documentIds: c.documentIds, createdAt: c.createdAt, updatedAt: c.updatedAt };
}
