// `distil export-onnx`: a Hugging Face BERT / DistilBERT directory -> ONNX (src/infer/onnx_export.ts),
// written where transformers.js looks for it (`<dir>/onnx/model.onnx`).
import { InvalidArgumentError, type Command } from 'commander';
import { exportOnnx, ONNX_TASKS, type OnnxTask } from '../infer/onnx_export.js';

function taskArg(v: string): OnnxTask {
  if (!(ONNX_TASKS as readonly string[]).includes(v)) throw new InvalidArgumentError(`--task must be one of ${ONNX_TASKS.join(', ')}`);
  return v as OnnxTask;
}

export function registerExport(program: Command): void {
  program
    .command('export-onnx')
    .description('export a BERT / DistilBERT model directory to ONNX (opset 14, fp32) for onnxruntime and transformers.js')
    .requiredOption('--model <dir>', 'Hugging Face model directory (config.json + model.safetensors)')
    .option('--out <file>', 'ONNX file to write (default: <model>/onnx/model.onnx)')
    .option('--task <task>', `head to export (${ONNX_TASKS.join(', ')}; default: from config.json architectures)`, taskArg)
    .action((o: { model: string; out?: string; task?: OnnxTask }) => {
      const file = exportOnnx(o.model, { ...(o.out ? { outFile: o.out } : {}), ...(o.task ? { task: o.task } : {}) });
      console.log(`wrote ${file}`);
    });
}
