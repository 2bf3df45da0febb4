import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

// Dev/test aid: ?dir=rtl (or ?dir=ltr) flips the document direction to check the mirrored layout.
const dir = new URLSearchParams(location.search).get('dir');
if (dir === 'rtl' || dir === 'ltr') document.documentElement.dir = dir;

const target = document.getElementById('app');
if (!target) throw new Error('#app missing from index.html');

export default mount(App, { target });
