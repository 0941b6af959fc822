import type { ChatInfo, ChatMessage } from '../../common/api';
import { LongreadError } from '../../common/errors';
import type { Chat, Message } from '../library/chats';
import { requireDocument } from './library-handlers';
import { chatMarkdown, summaryMarkdown } from './markdown';
import type { ApiContext, Handlers } from './types';

export function chatHandlers(ctx: ApiContext): Handlers<'chats.list' | 'chats.create' | 'chats.messages' | 'chats.remove' | 'export.chat' | 'export.summary' | 'export.save'> {
  return {
    'chats.list': ({ documentId, collectionId }) => {
      if (documentId && collectionId) throw new LongreadError('invalid-argument', 'List the chats of a document or of a collection, not both.');
      const chats = collectionId ? ctx.library.chats.ofCollection(Number(collectionId)) : ctx.library.chats.list(documentId);
      return { chats: chats.map(chatInfo) };
    },

    'chats.create': ({ documentId, title }) => {
      if (documentId !== null) requireDocument(ctx, documentId);
      const fallback = documentId ? `Questions about ${ctx.library.documents.get(documentId)!.title}` : 'New chat';
      return chatInfo(ctx.library.chats.create(documentId, title?.trim() || fallback));
    },

    'chats.messages': ({ chatId }) => {
      const chat = requireChat(ctx, chatId);
      return { chat: chatInfo(chat), messages: ctx.library.chats.messages(chat.id).map(messageOf) };
    },

    'chats.remove': ({ chatId }) => ({ removed: ctx.library.chats.remove(Number(chatId)) }),

    'export.chat': ({ chatId }) => {
      const chat = requireChat(ctx, chatId);
      const title = chat.docId ? (ctx.library.documents.get(chat.docId)?.title ?? null) : null;
      const collection = chat.collectionId !== null ? (ctx.library.collections.get(chat.collectionId)?.name ?? null) : null;
      return chatMarkdown(chatInfo(chat), ctx.library.chats.messages(chat.id).map(messageOf), title, new Date(), collection);
    },

    'export.summary': ({ documentId, section, summary }) => {
      const info = requireDocument(ctx, documentId);
      const sectionTitle = section === undefined ? null : (ctx.library.documents.sections(documentId)[section]?.title ?? `Section ${section + 1}`);
      return summaryMarkdown(summary, info.title, sectionTitle);
    },

    'export.save': async ({ fileName, content }) => {
      if (!ctx.desktop) throw new LongreadError('unsupported', 'Saving through a dialog needs the desktop app; the browser downloads the file instead.');
      return { path: await ctx.desktop.saveFile(fileName, content) };
    },
  };
}

function requireChat(ctx: ApiContext, chatId: string): Chat {
  const chat = ctx.library.chats.list().find((c) => c.id === Number(chatId));
  if (!chat) throw new LongreadError('chat-not-found', `There is no chat ${chatId}.`);
  return chat;
}

export function chatInfo(c: Chat): ChatInfo {
  return { id: String(c.id), documentId: c.docId, ...(c.collectionId !== null ? { collectionId: String(c.collectionId) } : {}), title: c.title, createdAt: c.createdAt, updatedAt: c.updatedAt };
}

function messageOf(m: Message): ChatMessage {
  return { id: m.id, chatId: String(m.chatId), role: m.role, content: m.content, meta: m.meta ?? null, createdAt: m.createdAt };
}
