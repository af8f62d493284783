/** Entry point: styles, in-app links, and the app into #app. */
import { render } from 'preact';
import { App } from './app';
import { interceptLinks } from './router';
import './style.css';

const root = document.getElementById('app')!;
interceptLinks(document.body);
root.textContent = '';
render(<App />, root);
