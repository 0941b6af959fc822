import { mount } from 'svelte';
import App from './App.svelte';
import Fatal from './components/Fatal.svelte';
import { Api, detectTransport } from './lib/api/index';
import { AppState } from './lib/state/app.svelte';
import './app.css';

const target = document.getElementById('app')!;
try {
  const app = new AppState(new Api(detectTransport()));
  mount(App, { target, props: { app } });
  void app.start();
} catch (e) {
  mount(Fatal, { target, props: { message: e instanceof Error ? e.message : String(e) } });
}
