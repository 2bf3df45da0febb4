import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { overrideDir, setLocale, systemLocale } from './lib/i18n';

// Start in the system's language (if the UI has it); App switches to the saved one
// (settings.ui_language) as soon as the settings are loaded.
const params = new URLSearchParams(location.search);
// Dev/test aids: ?lang=he picks the language, ?dir=rtl (or ?dir=ltr) forces the direction.
setLocale(params.get('lang') ?? systemLocale());
const dir = params.get('dir');
if (dir === 'rtl' || dir === 'ltr') overrideDir(dir);

const target = document.getElementById('app');
if (!target) throw new Error('#app missing from index.html');

export default mount(App, { target });
